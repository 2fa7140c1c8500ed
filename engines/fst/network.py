"""The distribution network the FST engines price against: a bundled pandapower net with
optional line ratings overridden (to make a line bind, as a DSO's congestion scenario does)."""

from __future__ import annotations

from typing import Any

from engines.fmct.needs_engine import BundledNetwork, bundled_network


class NetworkError(ValueError):
    pass


def priced_network(name: BundledNetwork, line_max_i_ka: dict[str, float]) -> Any:
    net = bundled_network(name)
    for line, rating in line_max_i_ka.items():
        if not line.isdigit() or int(line) not in net.line.index:
            raise NetworkError(f"line_max_i_ka: no line {line!r} in {name}")
        net.line.loc[int(line), "max_i_ka"] = rating
    return net

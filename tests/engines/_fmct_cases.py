"""Shared scenarios for the FMCT tests (built here, never from the engine's own results)."""

from __future__ import annotations

from typing import Any

import pandapower as pp
import pandapower.networks as pn

from engines.fmct.schema import ClearingOffer, ClearingRequest

# case33bw (Baran-Wu numbering minus one): main feeder 0-17, laterals 18-21 (from 1), 22-24 (from 2),
# 25-32 (from 5); so buses 6-17 are downstream of line 5 (bus 5 -> 6).
DOWNSTREAM_OF_LINE_5 = {str(b) for b in range(6, 18)}
UPSTREAM_OF_LINE_5 = {str(b) for b in [*range(0, 6), *range(18, 33)]}


def feeder() -> Any:
    return pn.case33bw()


def congested_feeder(share: float = 0.9) -> Any:
    """case33bw with line 5 rated at ``share`` of its base-case current: it is overloaded."""
    net = pn.case33bw()
    probe = pn.case33bw()
    pp.runpp(probe, numba=False)
    net.line.loc[5, "max_i_ka"] = float(probe.res_line.at[5, "i_ka"]) * share
    return net


def offer(
    oid: str,
    bus: str,
    up: float = 0.0,
    down: float = 0.0,
    pu: float = 0.0,
    pd: float = 0.0,
    **kw: Any,
) -> ClearingOffer:
    return ClearingOffer(
        id=oid,
        seller_id=kw.pop("seller", f"s-{oid}"),
        bus=bus,
        p_up_mw=up,
        p_down_mw=down,
        price_p_up_eur_per_mwh=pu,
        price_p_down_eur_per_mwh=pd,
        periods=kw.pop("periods", [0]),
        **kw,
    )


def request(rid: str, bus: str, p: float, price: float, direction: str = "up") -> ClearingRequest:
    return ClearingRequest(
        id=rid,
        buyer_id=f"b-{rid}",
        bus=bus,
        direction=direction,  # type: ignore[arg-type]
        p_mw=p,
        price_p_eur_per_mwh=price,
        periods=[0],
    )

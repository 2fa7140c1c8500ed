"""Real networks bundled with pandapower, offered as grid-zone node lists for demos and tests."""

from __future__ import annotations

import warnings

import msgspec


class BundledNode(msgspec.Struct, frozen=True):
    mrid: str
    name: str
    vn_kv: float


def cigre_mv_nodes() -> list[BundledNode]:
    """The 15 buses of the CIGRE MV benchmark (CIGRE TF C6.04.02), from pandapower."""
    with warnings.catch_warnings():
        # pandapower's import and network builder warn about optional extras (numba, geo).
        warnings.simplefilter("ignore")
        import pandapower.networks as pn

        net = pn.create_cigre_network_mv(with_der="pv_wind")
    return [
        BundledNode(mrid=f"cigre-mv-bus-{index}", name=str(row.name), vn_kv=float(row.vn_kv))
        for index, row in net.bus.iterrows()
    ]

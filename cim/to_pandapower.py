"""GridModel -> a fresh pandapower net, and an AC power flow with results keyed by mRID."""

from __future__ import annotations

import math
import warnings
from typing import Any

import msgspec

from cim.model import BusVoltage, GridModel, Transformer
from cim.report import error

_SN_DEFAULT_MVA = 100.0


class PowerFlowResult(msgspec.Struct, frozen=True, kw_only=True):
    converged: bool
    voltages: tuple[BusVoltage, ...] = ()
    vm_pu: dict[str, float] = {}
    line_loading_percent: dict[str, float] = {}


def _trafo(pp: Any, net: Any, idx: dict[str, int], t: Transformer, f_hz: float) -> None:
    hv, lv = t.ends[0], t.ends[1]
    sn = hv.rated_s_mva or _SN_DEFAULT_MVA
    # CIM may split the series impedance over both ends, each referred to its own rated voltage.
    ratio2 = (hv.rated_u_kv / lv.rated_u_kv) ** 2 if lv.rated_u_kv else 1.0
    r = hv.r_ohm + lv.r_ohm * ratio2
    x = hv.x_ohm + lv.x_ohm * ratio2
    g = hv.g_siemens + lv.g_siemens / ratio2
    b = hv.b_siemens + lv.b_siemens / ratio2
    z_base = hv.rated_u_kv**2 / sn
    tap = next((e.tap_changer for e in t.ends[:2] if e.tap_changer is not None), None)
    tap_args: dict[str, Any] = {}
    if tap is not None and tap.kind == "ratio":
        side = "hv" if hv.tap_changer is tap else "lv"
        tap_args = {
            "tap_side": side,
            "tap_neutral": tap.neutral_step,
            "tap_min": tap.low_step,
            "tap_max": tap.high_step,
            "tap_step_percent": tap.step_voltage_increment_percent,
            "tap_pos": tap.step,
        }
    pp.create_transformer_from_parameters(
        net,
        idx[hv.bus],
        idx[lv.bus],
        sn_mva=sn,
        vn_hv_kv=hv.rated_u_kv,
        vn_lv_kv=lv.rated_u_kv,
        vkr_percent=r / z_base * 100,
        vk_percent=math.hypot(r, x) / z_base * 100,
        pfe_kw=g * hv.rated_u_kv**2 * 1000,
        i0_percent=math.hypot(g, b) * z_base * 100,
        shift_degree=30.0 * lv.phase_angle_clock,
        name=t.mrid,
        in_service=t.in_service,
        **tap_args,
    )


def _slack_generator(model: GridModel) -> str | None:
    """Without an external grid: lowest positive referencePriority, else a machine at the SV
    profile's angle reference node, else the largest voltage-controlled machine."""
    candidates = [g for g in model.generators if g.vm_pu is not None and g.in_service]
    ranked = sorted((g.reference_priority, g.mrid) for g in candidates if g.reference_priority > 0)
    if ranked:
        return ranked[0][1]
    at_reference = [g for g in candidates if g.bus in model.angle_reference_buses]
    if at_reference:
        return max(at_reference, key=lambda g: (g.p_mw, g.mrid)).mrid
    return max(candidates, key=lambda g: (g.p_mw, g.mrid)).mrid if candidates else None


def to_pandapower(model: GridModel, f_hz: float = 50.0) -> Any:
    """A new net per call: pandapower nets are mutable and collect results."""
    import pandapower as pp

    net = pp.create_empty_network(name=model.name, f_hz=f_hz, sn_mva=_SN_DEFAULT_MVA)
    idx = {b.mrid: pp.create_bus(net, vn_kv=b.vn_kv, name=b.mrid) for b in model.buses}
    for line in model.lines:
        vn_from, vn_to = net.bus.vn_kv.at[idx[line.from_bus]], net.bus.vn_kv.at[idx[line.to_bus]]
        if abs(vn_from - vn_to) > 1e-9 * max(vn_from, 1.0):
            # Per unit on the geometric mean of both nominal voltages, as bus-branch tools do for
            # a branch between two voltage levels without a transformer.
            z_base = vn_from * vn_to / net.sn_mva
            pp.create_impedance(
                net,
                idx[line.from_bus],
                idx[line.to_bus],
                rft_pu=line.r_ohm / z_base,
                xft_pu=line.x_ohm / z_base,
                sn_mva=net.sn_mva,
                name=line.mrid,
                in_service=line.in_service,
            )
            for bus, vn in ((line.from_bus, vn_from), (line.to_bus, vn_to)):
                pp.create_shunt(
                    net,
                    idx[bus],
                    q_mvar=-line.b_siemens / 2 * vn**2,
                    p_mw=line.g_siemens / 2 * vn**2,
                    name=line.mrid,
                )
            continue
        length = line.length_km if line.length_km > 0 else 1.0
        pp.create_line_from_parameters(
            net,
            idx[line.from_bus],
            idx[line.to_bus],
            length_km=length,
            r_ohm_per_km=line.r_ohm / length,
            x_ohm_per_km=line.x_ohm / length,
            c_nf_per_km=line.b_siemens / (2 * math.pi * f_hz) * 1e9 / length,
            g_us_per_km=line.g_siemens * 1e6 / length,
            max_i_ka=line.i_max_ka or 1e6,
            name=line.mrid,
            in_service=line.in_service,
        )
    for t in model.transformers:
        if len(t.ends) == 2:
            _trafo(pp, net, idx, t, f_hz)
        else:
            raise error(
                "unsupported_in_power_flow",
                "three-winding transformers are not yet converted to pandapower",
                mrid=t.mrid,
            )
    for load in model.loads:
        pp.create_load(
            net,
            idx[load.bus],
            p_mw=load.p_mw,
            q_mvar=load.q_mvar,
            name=load.mrid,
            in_service=load.in_service,
        )
    slack = None if model.external_grids else _slack_generator(model)
    for g in model.generators:
        if g.vm_pu is not None:
            pp.create_gen(
                net,
                idx[g.bus],
                p_mw=g.p_mw,
                vm_pu=g.vm_pu,
                name=g.mrid,
                in_service=g.in_service,
                slack=g.mrid == slack,
            )
        else:
            pp.create_sgen(
                net, idx[g.bus], p_mw=g.p_mw, q_mvar=g.q_mvar, name=g.mrid, in_service=g.in_service
            )
    for s in model.static_generators:
        pp.create_sgen(
            net,
            idx[s.bus],
            p_mw=s.p_mw,
            q_mvar=s.q_mvar,
            name=s.mrid,
            type=s.kind,
            in_service=s.in_service,
        )
    for e in model.external_grids:
        pp.create_ext_grid(net, idx[e.bus], vm_pu=e.vm_pu, va_degree=e.va_degree, name=e.mrid)
    for sh in model.shunts:
        vn = net.bus.vn_kv.at[idx[sh.bus]]
        pp.create_shunt(
            net,
            idx[sh.bus],
            q_mvar=-sh.b_per_section_siemens * vn**2,
            p_mw=sh.g_per_section_siemens * vn**2,
            step=int(sh.sections),
            max_step=max(sh.maximum_sections, int(sh.sections), 1),
            name=sh.mrid,
            in_service=sh.in_service,
        )
    for sw in model.switches:
        if sw.bus_a != sw.bus_b:
            pp.create_switch(
                net, idx[sw.bus_a], idx[sw.bus_b], et="b", closed=not sw.open, name=sw.mrid
            )
    return net


def run_power_flow(model: GridModel, **options: Any) -> PowerFlowResult:
    import pandapower as pp

    net = to_pandapower(model)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            pp.runpp(net, numba=False, **options)
    except pp.LoadflowNotConverged:
        return PowerFlowResult(converged=False)
    res = net.res_bus
    voltages = tuple(
        BusVoltage(
            bus=name,
            v_kv=float(res.vm_pu.at[i] * net.bus.vn_kv.at[i]),
            angle_degree=float(res.va_degree.at[i]),
        )
        for i, name in net.bus.name.items()
    )
    return PowerFlowResult(
        converged=True,
        voltages=voltages,
        vm_pu={name: float(res.vm_pu.at[i]) for i, name in net.bus.name.items()},
        line_loading_percent={
            name: float(net.res_line.loading_percent.at[i]) for i, name in net.line.name.items()
        },
    )

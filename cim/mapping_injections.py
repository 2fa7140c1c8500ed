"""Loads, machines, static generation, external grids and shunts from cimpy objects.

CGMES SSH gives p/q in load sign for every injection; the internal model uses generator sign for
sources (see cim.model).
"""

from __future__ import annotations

from typing import Any

from cim.mapping_context import Context, mrid_of, num, text
from cim.model import ExternalGrid, Generator, Load, Shunt, StaticGenerator

LOAD_CLASSES = ("EnergyConsumer", "ConformLoad", "NonConformLoad", "StationSupply")
_RENEWABLE = {"WindGeneratingUnit": "wind", "SolarGeneratingUnit": "pv"}


def _single_bus(ctx: Context, equipment: Any) -> str | None:
    buses = ctx.equipment_buses(equipment, 1)
    return buses[0] if buses else None


def _pq(ctx: Context, equipment: Any, attribute: str, p: str, q: str) -> tuple[float, float]:
    """SSH values, else the SV flow at its terminal (older single-file exports carry only SV)."""
    mrid = mrid_of(equipment)
    if ctx.has(attribute, mrid):
        return num(equipment, p), num(equipment, q)
    for terminal in ctx.terminals.get(mrid or "", []):
        flow = ctx.sv_flow.get(mrid_of(terminal))
        if flow is not None:
            ctx.finding("pq_from_sv", "info", mrid, attribute, "no SSH value; SvPowerFlow used")
            return num(flow, "p"), num(flow, "q")
    return num(equipment, p), num(equipment, q)


def loads(ctx: Context) -> list[Load]:
    out = []
    for cls in LOAD_CLASSES:
        for load in ctx.by_class[cls]:
            if (bus := _single_bus(ctx, load)) is None:
                continue
            p, q = _pq(ctx, load, "EnergyConsumer.p", "p", "q")
            out.append(
                Load(
                    mrid=mrid_of(load) or "",
                    name=text(load, "name"),
                    bus=bus,
                    p_mw=p,
                    q_mvar=q,
                    kind=cls,
                    in_service=ctx.in_service(load),
                )
            )
    return out


def _target_pu(ctx: Context, equipment: Any, bus: str, vn_kv: dict[str, float]) -> float | None:
    control = getattr(equipment, "RegulatingControl", None)
    if control is None or not bool(getattr(equipment, "controlEnabled", False)):
        return None
    if not bool(getattr(control, "enabled", True)) or text(control, "mode") not in ("", "voltage"):
        return None
    target = num(control, "targetValue")
    base = vn_kv.get(bus, 0.0)
    return target / base if target > 0 and base > 0 else None


def machines(
    ctx: Context, vn_kv: dict[str, float]
) -> tuple[list[Generator], list[StaticGenerator]]:
    gens: list[Generator] = []
    sgens: list[StaticGenerator] = []
    for sm in ctx.by_class["SynchronousMachine"]:
        if (bus := _single_bus(ctx, sm)) is None:
            continue
        p, q = _pq(ctx, sm, "RotatingMachine.p", "p", "q")
        unit = sm.GeneratingUnit
        unit_kind = type(unit).__name__ if unit is not None else ""
        vm_pu = _target_pu(ctx, sm, bus, vn_kv)
        mrid, name = mrid_of(sm) or "", text(sm, "name")
        if unit_kind in _RENEWABLE and vm_pu is None:
            sgens.append(
                StaticGenerator(
                    mrid=mrid,
                    name=name,
                    bus=bus,
                    p_mw=-p,
                    q_mvar=-q,
                    kind=_RENEWABLE[unit_kind],  # type: ignore[arg-type]
                    in_service=ctx.in_service(sm),
                )
            )
            continue
        has_q_limits = num(sm, "minQ") != 0.0 or num(sm, "maxQ") != 0.0
        gens.append(
            Generator(
                mrid=mrid,
                name=name,
                bus=bus,
                p_mw=-p,
                q_mvar=-q,
                vm_pu=vm_pu,
                rated_s_mva=num(sm, "ratedS"),
                min_q_mvar=num(sm, "minQ") if has_q_limits else None,
                max_q_mvar=num(sm, "maxQ") if has_q_limits else None,
                unit_mrid=mrid_of(unit),
                unit_kind=unit_kind or "none",
                reference_priority=int(num(sm, "referencePriority")),
                in_service=ctx.in_service(sm),
            )
        )
    for source in ctx.by_class["EnergySource"]:
        if (bus := _single_bus(ctx, source)) is None:
            continue
        p, q = _pq(ctx, source, "EnergySource.activePower", "activePower", "reactivePower")
        sgens.append(
            StaticGenerator(
                mrid=mrid_of(source) or "",
                name=text(source, "name"),
                bus=bus,
                p_mw=-p,
                q_mvar=-q,
                in_service=ctx.in_service(source),
            )
        )
    return gens, sgens


def external_grids(ctx: Context, vn_kv: dict[str, float]) -> list[ExternalGrid]:
    voltages = {
        ctx.tn_bus.get(mrid_of(v.TopologicalNode) or ""): v for v in ctx.by_class["SvVoltage"]
    }
    out = []
    for eni in ctx.by_class["ExternalNetworkInjection"]:
        if (bus := _single_bus(ctx, eni)) is None:
            continue
        p, q = _pq(ctx, eni, "ExternalNetworkInjection.p", "p", "q")
        vm_pu = _target_pu(ctx, eni, bus, vn_kv)
        va = 0.0
        if (state := voltages.get(bus)) is not None and vn_kv.get(bus, 0.0) > 0:
            # No voltage control in SSH: the solved state is the best setpoint we have.
            vm_pu = vm_pu or num(state, "v") / vn_kv[bus]
            va = num(state, "angle")
        out.append(
            ExternalGrid(
                mrid=mrid_of(eni) or "",
                name=text(eni, "name"),
                bus=bus,
                vm_pu=vm_pu or 1.0,
                va_degree=va,
                p_mw=-p,
                q_mvar=-q,
                reference_priority=int(num(eni, "referencePriority")),
            )
        )
    return out


def shunts(ctx: Context) -> list[Shunt]:
    out = []
    for shunt in ctx.by_class["LinearShuntCompensator"]:
        if (bus := _single_bus(ctx, shunt)) is None:
            continue
        mrid = mrid_of(shunt)
        sections = (
            num(shunt, "sections")
            if ctx.has("ShuntCompensator.sections", mrid)
            else num(shunt, "normalSections")
        )
        out.append(
            Shunt(
                mrid=mrid or "",
                name=text(shunt, "name"),
                bus=bus,
                b_per_section_siemens=num(shunt, "bPerSection"),
                g_per_section_siemens=num(shunt, "gPerSection"),
                sections=sections,
                maximum_sections=int(num(shunt, "maximumSections")),
                nom_u_kv=num(shunt, "nomU"),
                in_service=ctx.in_service(shunt),
            )
        )
    return out

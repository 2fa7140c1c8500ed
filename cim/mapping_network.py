"""Buses, lines, transformers, switches and SV voltages from cimpy objects."""

from __future__ import annotations

from typing import Any

from cim.mapping_context import SWITCH_CLASSES, Context, mrid_of, num, text
from cim.model import (
    BaseVoltage,
    Bus,
    BusVoltage,
    Line,
    Switch,
    TapChanger,
    Transformer,
    TransformerEnd,
)


def base_voltages(ctx: Context) -> list[BaseVoltage]:
    return [
        BaseVoltage(mrid=mrid_of(b) or "", name=text(b, "name"), vn_kv=num(b, "nominalVoltage"))
        for b in ctx.by_class["BaseVoltage"]
    ]


def _node_voltage(ctx: Context, node: Any) -> tuple[float, str | None]:
    base = getattr(node, "BaseVoltage", None)
    container = getattr(node, "ConnectivityNodeContainer", None)
    if base is None and container is not None:
        base = getattr(container, "BaseVoltage", None)
    if base is None:
        return 0.0, None
    return num(base, "nominalVoltage"), mrid_of(base)


def _limits(ctx: Context, kind: str) -> dict[str, list[tuple[float, str]]]:
    """Limit values per equipment (or terminal) mRID, with the limit type's direction/name."""
    out: dict[str, list[tuple[float, str]]] = {}
    for limit in ctx.by_class[kind]:
        limit_set = limit.OperationalLimitSet
        if limit_set is None:
            continue
        owner = limit_set.Equipment or limit_set.Terminal
        limit_type = limit.OperationalLimitType
        label = (text(limit_type, "direction") + " " + text(limit_type, "name")).strip()
        if (mrid := mrid_of(owner)) is not None:
            out.setdefault(mrid, []).append((num(limit, "value"), label))
    return out


def buses(ctx: Context) -> list[Bus]:
    voltage_limits = _limits(ctx, "VoltageLimit")
    bus_limits: dict[str, list[tuple[float, str]]] = {}
    for owner, values in voltage_limits.items():
        terminal = ctx.objects.get(owner)
        bus = ctx.bus_of(terminal) if terminal is not None else None
        if bus is not None:
            bus_limits.setdefault(bus, []).extend(values)
    out = []
    for bus_mrid, nodes in sorted(ctx.topology.bus_nodes.items()):
        node = ctx.objects.get(bus_mrid) or ctx.objects.get(nodes[0])
        vn_kv, base = _node_voltage(ctx, node)
        highs = [v for v, label in bus_limits.get(bus_mrid, []) if "low" not in label]
        lows = [v for v, label in bus_limits.get(bus_mrid, []) if "low" in label]
        out.append(
            Bus(
                mrid=bus_mrid,
                name=text(node, "name"),
                vn_kv=vn_kv,
                base_voltage_mrid=base,
                connectivity_node_mrids=nodes if ctx.topology.node_breaker else (),
                v_max_kv=min(highs) if highs else None,
                v_min_kv=max(lows) if lows else None,
            )
        )
    return out


def lines(ctx: Context) -> list[Line]:
    current = _limits(ctx, "CurrentLimit")
    out = []
    for seg in ctx.by_class["ACLineSegment"]:
        mrid = mrid_of(seg) or ""
        ends = ctx.equipment_buses(seg, 2)
        if ends is None:
            continue
        owners = [mrid, *(mrid_of(t) or "" for t in ctx.terminals[mrid])]
        # Temporary (TATL) limits allow short overloads; the permanent one is the rating.
        amps = [
            v
            for o in owners
            for v, label in current.get(o, [])
            if v > 0 and "TATL" not in label.upper()
        ]
        out.append(
            Line(
                mrid=mrid,
                name=text(seg, "name"),
                from_bus=ends[0],
                to_bus=ends[1],
                r_ohm=num(seg, "r"),
                x_ohm=num(seg, "x"),
                b_siemens=num(seg, "bch"),
                g_siemens=num(seg, "gch"),
                length_km=num(seg, "length"),
                i_max_ka=min(amps) / 1000.0 if amps else None,
                in_service=ctx.in_service(seg),
            )
        )
    return out


def _tap_changer(ctx: Context, changer: Any) -> TapChanger:
    mrid = mrid_of(changer)
    step = num(changer, "step") if ctx.has("TapChanger.step", mrid) else num(changer, "normalStep")
    return TapChanger(
        mrid=mrid or "",
        name=text(changer, "name"),
        kind="ratio" if type(changer).__name__ == "RatioTapChanger" else "phase",
        low_step=int(num(changer, "lowStep")),
        high_step=int(num(changer, "highStep")),
        neutral_step=int(num(changer, "neutralStep")),
        normal_step=int(num(changer, "normalStep")),
        step=step,
        step_voltage_increment_percent=num(changer, "stepVoltageIncrement"),
        step_phase_shift_degree=num(changer, "stepPhaseShiftIncrement"),
        neutral_u_kv=num(changer, "neutralU"),
    )


def transformers(ctx: Context) -> list[Transformer]:
    changers: dict[str, Any] = {}
    for cls in (
        "RatioTapChanger",
        "PhaseTapChangerLinear",
        "PhaseTapChangerSymmetrical",
        "PhaseTapChangerAsymmetrical",
        "PhaseTapChangerTabular",
    ):
        for changer in ctx.by_class[cls]:
            if cls == "PhaseTapChangerTabular":
                ctx.finding(
                    "unsupported_tap_changer",
                    "warning",
                    mrid_of(changer),
                    None,
                    "tabular phase tap changers are ignored",
                )
            elif (end := mrid_of(changer.TransformerEnd)) is not None:
                changers[end] = changer
    ends: dict[str, list[TransformerEnd]] = {}
    for end in ctx.by_class["PowerTransformerEnd"]:
        mrid = mrid_of(end) or ""
        owner = mrid_of(end.PowerTransformer)
        bus = ctx.bus_of(end.Terminal) if end.Terminal is not None else None
        if owner is None or bus is None:
            ctx.finding(
                "unconnected_transformer_end",
                "error",
                mrid,
                "PowerTransformerEnd.PowerTransformer"
                if owner is None
                else "TransformerEnd.Terminal",
                "transformer end without its transformer or a connected terminal",
            )
            continue
        changer = changers.get(mrid)
        ends.setdefault(owner, []).append(
            TransformerEnd(
                mrid=mrid,
                name=text(end, "name"),
                end_number=int(num(end, "endNumber")),
                bus=bus,
                rated_u_kv=num(end, "ratedU"),
                rated_s_mva=num(end, "ratedS"),
                r_ohm=num(end, "r"),
                x_ohm=num(end, "x"),
                b_siemens=num(end, "b"),
                g_siemens=num(end, "g"),
                phase_angle_clock=int(num(end, "phaseAngleClock")),
                connection_kind=text(end, "connectionKind"),
                tap_changer=_tap_changer(ctx, changer) if changer is not None else None,
            )
        )
    out = []
    for pt in ctx.by_class["PowerTransformer"]:
        mrid = mrid_of(pt) or ""
        pt_ends = sorted(ends.get(mrid, []), key=lambda e: e.end_number)
        if len(pt_ends) not in (2, 3):
            ctx.finding(
                "transformer_ends",
                "error",
                mrid,
                "PowerTransformerEnd.PowerTransformer",
                f"power transformer has {len(pt_ends)} ends; 2 or 3 are supported",
            )
            continue
        out.append(
            Transformer(
                mrid=mrid, name=text(pt, "name"), ends=tuple(pt_ends), in_service=ctx.in_service(pt)
            )
        )
    return out


def switches(ctx: Context) -> list[Switch]:
    out = []
    for cls in sorted(SWITCH_CLASSES):
        for sw in ctx.by_class[cls]:
            ends = ctx.equipment_buses(sw, 2)
            if ends is None:
                continue
            out.append(
                Switch(
                    mrid=mrid_of(sw) or "",
                    name=text(sw, "name"),
                    kind=cls,
                    bus_a=ends[0],
                    bus_b=ends[1],
                    open=ctx.switch_open(sw),
                    normal_open=bool(sw.normalOpen),
                    retained=bool(sw.retained),
                )
            )
    return out


def sv_voltages(ctx: Context) -> list[BusVoltage]:
    out = []
    for sv in ctx.by_class["SvVoltage"]:
        bus = ctx.tn_bus.get(mrid_of(sv.TopologicalNode) or "")
        if bus is not None:
            out.append(BusVoltage(bus=bus, v_kv=num(sv, "v"), angle_degree=num(sv, "angle")))
    return out


def angle_references(ctx: Context) -> list[str]:
    refs = (
        ctx.tn_bus.get(mrid_of(i.AngleRefTopologicalNode) or "")
        for i in ctx.by_class["TopologicalIsland"]
    )
    return sorted({r for r in refs if r})

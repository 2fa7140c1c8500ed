"""GridModel -> CGMES 2.4.15 (EQ, TP, SSH, SV) through cimpy's serializer, and pandapower JSON.

The export is bus-branch: one TopologicalNode per bus. Numbers are handed to cimpy as strings
because its serializer drops values equal to 0 or False, which would lose r = 0 or open = false.
"""

from __future__ import annotations

import importlib
from typing import Any

from cim.cimpy_edge import CGMES_VERSION, quiet_cimpy
from cim.model import GridModel
from cim.to_pandapower import to_pandapower

PROFILES = ("EQ", "TP", "SSH", "SV")
NAMESPACES = {
    "cim": "http://iec.ch/TC57/2013/CIM-schema-cim16#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "md": "http://iec.ch/TC57/61970-552/ModelDescription/1#",
    "entsoe": "http://entsoe.eu/CIM/SchemaExtension/3/1#",
}


def _v(value: float | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(float(value)) if isinstance(value, float) else str(value)


_PROFILE_NAMES = {
    0: "EQ",
    1: "SSH",
    2: "TP",
    3: "SV",
    4: "DY",
    5: "GL",
    6: "DI",
    7: "DL",
    8: "TP_BD",
    9: "EQ_BD",
}


class _Builder:
    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}

    def add(self, cls: str, mrid: str, **attributes: Any) -> Any:
        klass = getattr(importlib.import_module(f"cimpy.{CGMES_VERSION}.{cls}"), cls)
        obj = klass()
        # One dict per object (cimpy shares one per class), naming the class's first profile:
        # cimpy's exporter cannot pick a default profile for a class by itself.
        first = min(klass.possibleProfileList["class"])
        obj.serializationProfile = {"class": _PROFILE_NAMES[first]}
        if hasattr(obj, "mRID"):
            obj.mRID = mrid
        for key, value in attributes.items():
            setattr(obj, key, _v(value) if isinstance(value, int | float) else value)
        self.objects[mrid] = obj
        return obj

    def terminals(self, equipment: Any, buses: list[str], connected: bool = True) -> list[Any]:
        return [
            self.add(
                "Terminal",
                f"{equipment.mRID}_T{n}",
                ConductingEquipment=equipment,
                sequenceNumber=n,
                TopologicalNode=self.objects[bus],
                connected=connected,
            )
            for n, bus in enumerate(buses, start=1)
        ]

    def control(self, equipment: Any, terminal: Any, target_kv: float | None) -> None:
        if target_kv is None:
            return
        rc = self.add(
            "RegulatingControl",
            f"{equipment.mRID}_RC",
            Terminal=terminal,
            targetValue=target_kv,
            enabled=True,
        )
        equipment.RegulatingControl = rc
        equipment.controlEnabled = "true"


def _network(b: _Builder, model: GridModel) -> None:
    for bv in model.base_voltages:
        b.add("BaseVoltage", bv.mrid, name=bv.name, nominalVoltage=bv.vn_kv)
    for bus in model.buses:
        base = b.objects.get(bus.base_voltage_mrid or "")
        if base is None:
            base = b.add("BaseVoltage", f"{bus.mrid}_BV", nominalVoltage=bus.vn_kv)
        b.add("TopologicalNode", bus.mrid, name=bus.name, BaseVoltage=base)
        for kind, value in (("high", bus.v_max_kv), ("low", bus.v_min_kv)):
            if value is None:
                continue
            holder = b.add("BusbarSection", f"{bus.mrid}_BB")
            terminal = b.terminals(holder, [bus.mrid])[0]
            limit_set = b.add("OperationalLimitSet", f"{bus.mrid}_{kind}_OLS", Terminal=terminal)
            b.add(
                "VoltageLimit",
                f"{bus.mrid}_{kind}_VL",
                value=value,
                OperationalLimitSet=limit_set,
                OperationalLimitType=b.add(
                    "OperationalLimitType", f"{bus.mrid}_{kind}_OLT", name=kind
                ),
            )
    for line in model.lines:
        seg = b.add(
            "ACLineSegment",
            line.mrid,
            name=line.name,
            r=line.r_ohm,
            x=line.x_ohm,
            bch=line.b_siemens,
            gch=line.g_siemens,
            length=line.length_km,
        )
        terminals = b.terminals(seg, [line.from_bus, line.to_bus], line.in_service)
        if line.i_max_ka is not None:
            limit_set = b.add(
                "OperationalLimitSet", f"{line.mrid}_OLS", Equipment=seg, Terminal=terminals[0]
            )
            b.add(
                "CurrentLimit",
                f"{line.mrid}_CL",
                value=line.i_max_ka * 1000.0,
                OperationalLimitSet=limit_set,
                OperationalLimitType=b.add("OperationalLimitType", f"{line.mrid}_OLT", name="PATL"),
            )
    for t in model.transformers:
        pt = b.add("PowerTransformer", t.mrid, name=t.name)
        terminals = b.terminals(pt, [e.bus for e in t.ends], t.in_service)
        for end, terminal in zip(t.ends, terminals, strict=True):
            pte = b.add(
                "PowerTransformerEnd",
                end.mrid,
                name=end.name,
                endNumber=end.end_number,
                ratedU=end.rated_u_kv,
                ratedS=end.rated_s_mva,
                r=end.r_ohm,
                x=end.x_ohm,
                b=end.b_siemens,
                g=end.g_siemens,
                phaseAngleClock=end.phase_angle_clock,
                PowerTransformer=pt,
                Terminal=terminal,
            )
            tc = end.tap_changer
            if tc is not None:
                cls = "RatioTapChanger" if tc.kind == "ratio" else "PhaseTapChangerLinear"
                b.add(
                    cls,
                    tc.mrid,
                    name=tc.name,
                    TransformerEnd=pte,
                    lowStep=tc.low_step,
                    highStep=tc.high_step,
                    neutralStep=tc.neutral_step,
                    normalStep=tc.normal_step,
                    step=tc.step,
                    stepVoltageIncrement=tc.step_voltage_increment_percent,
                    stepPhaseShiftIncrement=tc.step_phase_shift_degree,
                    neutralU=tc.neutral_u_kv,
                )
    for sw in model.switches:
        obj = b.add(
            sw.kind,
            sw.mrid,
            name=sw.name,
            open=sw.open,
            normalOpen=sw.normal_open,
            retained=sw.retained,
        )
        b.terminals(obj, [sw.bus_a, sw.bus_b])


def _injections(b: _Builder, model: GridModel) -> None:
    vn = {bus.mrid: bus.vn_kv for bus in model.buses}
    for load in model.loads:
        obj = b.add(load.kind, load.mrid, name=load.name, p=load.p_mw, q=load.q_mvar)
        b.terminals(obj, [load.bus], load.in_service)
    for g in model.generators:
        unit = b.add(
            g.unit_kind if g.unit_kind != "none" else "GeneratingUnit",
            g.unit_mrid or f"{g.mrid}_GU",
        )
        sm = b.add(
            "SynchronousMachine",
            g.mrid,
            name=g.name,
            p=-g.p_mw,
            q=-g.q_mvar,
            ratedS=g.rated_s_mva,
            referencePriority=g.reference_priority,
            GeneratingUnit=unit,
            minQ=g.min_q_mvar or 0.0,
            maxQ=g.max_q_mvar or 0.0,
        )
        terminal = b.terminals(sm, [g.bus], g.in_service)[0]
        b.control(sm, terminal, g.vm_pu * vn[g.bus] if g.vm_pu is not None else None)
    for s in model.static_generators:
        if s.kind == "other":
            obj = b.add(
                "EnergySource", s.mrid, name=s.name, activePower=-s.p_mw, reactivePower=-s.q_mvar
            )
        else:
            unit_cls = "WindGeneratingUnit" if s.kind == "wind" else "SolarGeneratingUnit"
            obj = b.add(
                "SynchronousMachine",
                s.mrid,
                name=s.name,
                p=-s.p_mw,
                q=-s.q_mvar,
                GeneratingUnit=b.add(unit_cls, f"{s.mrid}_GU"),
            )
        b.terminals(obj, [s.bus], s.in_service)
    for e in model.external_grids:
        eni = b.add(
            "ExternalNetworkInjection",
            e.mrid,
            name=e.name,
            p=-e.p_mw,
            q=-e.q_mvar,
            referencePriority=e.reference_priority,
        )
        terminal = b.terminals(eni, [e.bus])[0]
        b.control(eni, terminal, e.vm_pu * vn[e.bus])
    for sh in model.shunts:
        obj = b.add(
            "LinearShuntCompensator",
            sh.mrid,
            name=sh.name,
            bPerSection=sh.b_per_section_siemens,
            gPerSection=sh.g_per_section_siemens,
            sections=sh.sections,
            maximumSections=sh.maximum_sections,
            nomU=sh.nom_u_kv,
        )
        b.terminals(obj, [sh.bus], sh.in_service)
    for i, sv in enumerate(model.sv_voltages):
        b.add(
            "SvVoltage",
            f"sv_{i}_{sv.bus}",
            v=sv.v_kv,
            angle=sv.angle_degree,
            TopologicalNode=b.objects[sv.bus],
        )
    if model.angle_reference_buses:
        for bus in model.angle_reference_buses:
            b.add(
                "TopologicalIsland",
                f"{bus}_TI",
                AngleRefTopologicalNode=b.objects[bus],
                TopologicalNodes=[b.objects[bus]],
            )


def to_cgmes(model: GridModel, name: str = "flexgrid") -> dict[str, bytes]:
    """Profile short name -> XML document."""
    from cimpy.cgmes_v2_4_15.Base import Profile
    from cimpy.cimexport import generate_xml

    builder = _Builder()
    _network(builder, model)
    _injections(builder, model)
    data = {"meta_info": {"namespaces": NAMESPACES, "urls": {}}, "topology": builder.objects}
    active = [Profile[p] for p in PROFILES]
    out: dict[str, bytes] = {}
    with quiet_cimpy():
        for profile in active:
            try:
                out[profile.name] = generate_xml(
                    data, CGMES_VERSION, name, profile, active
                ).encode()
            except RuntimeError:
                continue  # nothing belongs to this profile, e.g. SV without voltages
    return out


def to_pandapower_json(model: GridModel) -> str:
    import pandapower as pp

    result: str = pp.to_json(to_pandapower(model))
    return result

"""cimpy objects -> GridModel. Classes we do not map are reported, never silently dropped."""

from __future__ import annotations

from typing import Any

from cim import mapping_injections as inj
from cim import mapping_network as net
from cim.mapping_context import SWITCH_CLASSES, Context
from cim.model import GridModel
from cim.report import Finding
from cim.scan import Scan

MAPPED = frozenset(
    {
        "ACLineSegment",
        "PowerTransformer",
        "PowerTransformerEnd",
        "RatioTapChanger",
        "PhaseTapChangerLinear",
        "PhaseTapChangerSymmetrical",
        "PhaseTapChangerAsymmetrical",
        "SynchronousMachine",
        "EnergySource",
        "ExternalNetworkInjection",
        "LinearShuntCompensator",
        "BaseVoltage",
        "TopologicalNode",
        "ConnectivityNode",
        "Terminal",
        "SvVoltage",
        "SvPowerFlow",
        "CurrentLimit",
        "VoltageLimit",
        *inj.LOAD_CLASSES,
        *SWITCH_CLASSES,
    }
)
# Containers, metadata, diagrams and state we do not need for a bus-branch power-flow model.
IGNORED = frozenset(
    {
        "Substation",
        "VoltageLevel",
        "Bay",
        "GeographicalRegion",
        "SubGeographicalRegion",
        "Line",
        "BusbarSection",
        "Junction",
        "Name",
        "NameType",
        "NameTypeAuthority",
        "OperationalLimitSet",
        "OperationalLimitType",
        "ActivePowerLimit",
        "ApparentPowerLimit",
        "Diagram",
        "DiagramObject",
        "DiagramObjectPoint",
        "DiagramStyle",
        "TextDiagramObject",
        "CoordinateSystem",
        "Location",
        "PositionPoint",
        "TopologicalIsland",
        "SvInjection",
        "SvTapStep",
        "SvShuntCompensatorSections",
        "SvStatus",
        "LoadResponseCharacteristic",
        "LoadArea",
        "SubLoadArea",
        "ConformLoadGroup",
        "NonConformLoadGroup",
        "ControlArea",
        "TieFlow",
        "ControlAreaGeneratingUnit",
        "RegulatingControl",
        "TapChangerControl",
        "GeneratingUnit",
        "ThermalGeneratingUnit",
        "HydroGeneratingUnit",
        "WindGeneratingUnit",
        "SolarGeneratingUnit",
        "NuclearGeneratingUnit",
        "EnergySchedulingType",
        "ReactiveCapabilityCurve",
        "CurveData",
        "RatioTapChangerTable",
        "RatioTapChangerTablePoint",
        "PhaseTapChangerTable",
        "PhaseTapChangerTablePoint",
        "FossilFuel",
        "HydroPowerPlant",
        "GroundDisconnector",
        "PhaseTapChangerTabular",
    }
)


def _unsupported(scan: Scan) -> list[Finding]:
    return [
        Finding(
            code="unsupported_class",
            severity="warning",
            attribute=cls,
            message=f"{count} {cls} object(s) are not part of the grid model",
        )
        for cls, count in sorted(scan.class_counts.items())
        if cls not in MAPPED and cls not in IGNORED
    ]


def map_model(
    objects: dict[str, Any], scan: Scan, name: str = ""
) -> tuple[GridModel, list[Finding]]:
    ctx = Context(objects, scan)
    buses = net.buses(ctx)
    vn_kv = {b.mrid: b.vn_kv for b in buses}
    generators, static_generators = inj.machines(ctx, vn_kv)
    model = GridModel(
        name=name,
        source_cim=scan.cim_namespace,
        base_voltages=tuple(net.base_voltages(ctx)),
        buses=tuple(buses),
        lines=tuple(net.lines(ctx)),
        transformers=tuple(net.transformers(ctx)),
        loads=tuple(inj.loads(ctx)),
        generators=tuple(generators),
        static_generators=tuple(static_generators),
        external_grids=tuple(inj.external_grids(ctx, vn_kv)),
        shunts=tuple(inj.shunts(ctx)),
        switches=tuple(net.switches(ctx)),
        sv_voltages=tuple(net.sv_voltages(ctx)),
        angle_reference_buses=tuple(net.angle_references(ctx)),
    )
    return model, [*ctx.findings, *_unsupported(scan)]

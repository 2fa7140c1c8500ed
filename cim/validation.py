"""Named checks on an imported model. Each returns findings; the importer decides what aborts."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import msgspec

from cim.model import ELEMENT_LISTS, GridModel
from cim.report import Finding, Severity
from cim.scan import MANDATORY, Scan


def _f(
    code: str,
    severity: Severity,
    mrid: str | None,
    attribute: str | None,
    message: str,
    scan: Scan | None = None,
) -> Finding:
    file = scan.defined_in.get(mrid or "") if scan else None
    return Finding(
        code=code,
        severity=severity,
        message=message,
        file=file,
        mrid=mrid,
        attribute=attribute,
    )


def missing_attributes(model: GridModel, scan: Scan) -> Iterable[Finding]:
    for mrid, cls in scan.classes.items():
        for attribute in MANDATORY.get(cls, ()):
            if mrid not in scan.present.get(attribute, ()):
                yield _f(
                    "missing_attribute",
                    "error",
                    mrid,
                    attribute,
                    f"{cls} lacks mandatory {attribute}",
                    scan,
                )


def impossible_values(model: GridModel, scan: Scan) -> Iterable[Finding]:
    for bv in model.base_voltages:
        if bv.vn_kv <= 0:
            yield _f(
                "zero_base_voltage",
                "error",
                bv.mrid,
                "BaseVoltage.nominalVoltage",
                f"nominal voltage {bv.vn_kv} kV",
                scan,
            )
    for bus in model.buses:
        if bus.vn_kv <= 0:
            yield _f(
                "bus_without_voltage",
                "error",
                bus.mrid,
                "TopologicalNode.BaseVoltage",
                f"bus nominal voltage is {bus.vn_kv} kV",
                scan,
            )
    for line in model.lines:
        if line.length_km < 0:
            yield _f(
                "negative_length",
                "error",
                line.mrid,
                "Conductor.length",
                f"length {line.length_km} km",
                scan,
            )
        if line.r_ohm == 0 and line.x_ohm == 0:
            yield _f("zero_impedance", "error", line.mrid, "ACLineSegment.x", "r = x = 0", scan)
        if line.r_ohm < 0:
            yield _f(
                "negative_resistance",
                "warning",
                line.mrid,
                "ACLineSegment.r",
                f"r = {line.r_ohm} ohm",
                scan,
            )
    for trafo in model.transformers:
        for end in trafo.ends:
            if end.rated_u_kv <= 0:
                yield _f(
                    "zero_rated_voltage",
                    "error",
                    end.mrid,
                    "PowerTransformerEnd.ratedU",
                    f"rated voltage {end.rated_u_kv} kV",
                    scan,
                )
            if end.rated_s_mva <= 0:
                yield _f(
                    "zero_rated_power",
                    "warning",
                    end.mrid,
                    "PowerTransformerEnd.ratedS",
                    f"rated power {end.rated_s_mva} MVA; 100 MVA assumed",
                    scan,
                )
        if all(e.r_ohm == 0 and e.x_ohm == 0 for e in trafo.ends):
            yield _f(
                "zero_impedance",
                "error",
                trafo.mrid,
                "PowerTransformerEnd.x",
                "r = x = 0 on every end",
                scan,
            )


def dangling_references(model: GridModel, scan: Scan) -> Iterable[Finding]:
    buses = {b.mrid for b in model.buses}
    for kind in ("loads", "generators", "static_generators", "external_grids", "shunts"):
        for element in getattr(model, kind):
            if element.bus not in buses:
                yield _f("dangling_bus", "error", element.mrid, "Terminal", "unknown bus", scan)


def connectivity(model: GridModel, scan: Scan) -> Iterable[Finding]:
    parent = {b.mrid: b.mrid for b in model.buses}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(a: str, b: str) -> None:
        if a in parent and b in parent:
            parent[find(a)] = find(b)

    for line in model.lines:
        if line.in_service:
            join(line.from_bus, line.to_bus)
    for trafo in model.transformers:
        if trafo.in_service:
            for end in trafo.ends[1:]:
                join(trafo.ends[0].bus, end.bus)
    for sw in model.switches:
        if not sw.open:
            join(sw.bus_a, sw.bus_b)
    slack_buses = {g.bus for g in model.external_grids}
    slack_buses |= {g.bus for g in model.generators if g.vm_pu is not None and g.in_service}
    islands: dict[str, list[str]] = {}
    for bus in parent:
        islands.setdefault(find(bus), []).append(bus)
    slack_roots = {find(b) for b in slack_buses if b in parent}
    for root, members in sorted(islands.items()):
        if root not in slack_roots:
            # Storable, but a power flow on it fails: a warning, fatal only in strict mode.
            yield _f(
                "island_without_slack",
                "warning",
                min(members),
                None,
                f"island of {len(members)} bus(es) has no external grid or voltage-controlled "
                "generator",
                scan,
            )
    if len(islands) > 1:
        yield _f("islands", "info", None, None, f"{len(islands)} islands", scan)


def missing_slack(model: GridModel, scan: Scan) -> Iterable[Finding]:
    if model.buses and not model.external_grids and not any(g.vm_pu for g in model.generators):
        yield _f(
            "no_slack",
            "warning",
            None,
            "ExternalNetworkInjection",
            "no external grid and no voltage-controlled generator",
            scan,
        )


def _non_finite(value: msgspec.Struct) -> Iterable[str]:
    # astuple is one C call per element and `x - x` is nan exactly for nan and +-inf: this
    # check runs over every number of a 10,000-bus model, so it must cost little.
    for name, field in zip(value.__struct_fields__, msgspec.structs.astuple(value), strict=True):
        if field.__class__ is float:
            if field - field != 0.0:
                yield name
        elif isinstance(field, msgspec.Struct):
            yield from _non_finite(field)


def non_finite_values(model: GridModel, scan: Scan) -> Iterable[Finding]:
    """NaN or infinity ("nan", "inf", "1e400" in the XML) parse as floats but mean nothing, and
    the model could not be stored as JSON."""
    for kind in ELEMENT_LISTS:
        for element in getattr(model, kind):
            for attribute in _non_finite(element):
                yield _f(
                    "non_finite_value",
                    "error",
                    element.mrid,
                    attribute,
                    f"{kind[:-1]} {element.mrid}: {attribute} is not a finite number",
                    scan,
                )
    for sv in model.sv_voltages:
        if not (math.isfinite(sv.v_kv) and math.isfinite(sv.angle_degree)):
            yield _f(
                "non_finite_value",
                "error",
                sv.bus,
                "SvVoltage",
                f"the SV voltage of {sv.bus} is not a finite number",
                scan,
            )


CHECKS: tuple[Callable[[GridModel, Scan], Iterable[Finding]], ...] = (
    missing_attributes,
    impossible_values,
    non_finite_values,
    dangling_references,
    connectivity,
    missing_slack,
)


def validate(model: GridModel, scan: Scan) -> list[Finding]:
    return [finding for check in CHECKS for finding in check(model, scan)]

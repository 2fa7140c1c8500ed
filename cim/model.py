"""Internal, CIM-version-independent grid model.

Imports only msgspec and the standard library: the gateway stores and serves these as JSON without
pulling cimpy or pandapower. Every element carries the mRID it had in the CIM source; orders name
nodes by that mRID. Sign conventions: loads consume positive `p_mw`; generators, static generation
and external grids inject positive `p_mw` (CGMES SSH uses load sign for all of them; the mapping
flips it).
"""

from __future__ import annotations

from typing import Literal

import msgspec

MODEL_FORMAT_VERSION = 1


class _Element(msgspec.Struct, frozen=True, kw_only=True):
    mrid: str
    name: str = ""


class BaseVoltage(_Element, frozen=True, kw_only=True):
    vn_kv: float


class Bus(_Element, frozen=True, kw_only=True):
    """A topological node: connectivity nodes joined by closed, non-retained switches."""

    vn_kv: float
    base_voltage_mrid: str | None = None
    connectivity_node_mrids: tuple[str, ...] = ()
    v_min_kv: float | None = None
    v_max_kv: float | None = None


class Line(_Element, frozen=True, kw_only=True):
    """ACLineSegment; impedances are totals for the whole segment (as in CIM)."""

    from_bus: str
    to_bus: str
    r_ohm: float
    x_ohm: float
    b_siemens: float = 0.0
    g_siemens: float = 0.0
    length_km: float = 0.0
    i_max_ka: float | None = None
    in_service: bool = True


class TapChanger(_Element, frozen=True, kw_only=True):
    kind: Literal["ratio", "phase"] = "ratio"
    low_step: int
    high_step: int
    neutral_step: int
    normal_step: int
    step: float
    step_voltage_increment_percent: float = 0.0
    step_phase_shift_degree: float = 0.0
    neutral_u_kv: float = 0.0


class TransformerEnd(_Element, frozen=True, kw_only=True):
    """PowerTransformerEnd: r/x/b/g in ohm/siemens referred to this end's rated voltage."""

    end_number: int
    bus: str
    rated_u_kv: float
    rated_s_mva: float
    r_ohm: float = 0.0
    x_ohm: float = 0.0
    b_siemens: float = 0.0
    g_siemens: float = 0.0
    phase_angle_clock: int = 0
    connection_kind: str = ""
    tap_changer: TapChanger | None = None


class Transformer(_Element, frozen=True, kw_only=True):
    ends: tuple[TransformerEnd, ...]
    in_service: bool = True


class Load(_Element, frozen=True, kw_only=True):
    bus: str
    p_mw: float
    q_mvar: float
    kind: str = "EnergyConsumer"
    in_service: bool = True


class Generator(_Element, frozen=True, kw_only=True):
    """SynchronousMachine with its GeneratingUnit; voltage-controlled when `vm_pu` is set."""

    bus: str
    p_mw: float
    q_mvar: float = 0.0
    vm_pu: float | None = None
    rated_s_mva: float = 0.0
    min_q_mvar: float | None = None
    max_q_mvar: float | None = None
    unit_mrid: str | None = None
    unit_kind: str = "GeneratingUnit"
    reference_priority: int = 0
    in_service: bool = True


class StaticGenerator(_Element, frozen=True, kw_only=True):
    """Power-electronics or fixed-injection generation (PV, wind, EnergySource)."""

    bus: str
    p_mw: float
    q_mvar: float = 0.0
    kind: Literal["pv", "wind", "other"] = "other"
    in_service: bool = True


class ExternalGrid(_Element, frozen=True, kw_only=True):
    """ExternalNetworkInjection: the slack of its island."""

    bus: str
    vm_pu: float = 1.0
    va_degree: float = 0.0
    p_mw: float = 0.0
    q_mvar: float = 0.0
    reference_priority: int = 0


class Shunt(_Element, frozen=True, kw_only=True):
    bus: str
    b_per_section_siemens: float
    g_per_section_siemens: float = 0.0
    sections: float = 1.0
    maximum_sections: int = 1
    nom_u_kv: float = 0.0
    in_service: bool = True


class Switch(_Element, frozen=True, kw_only=True):
    """A retained or open switch between two buses; closed non-retained ones are inside a bus."""

    kind: str = "Switch"
    bus_a: str
    bus_b: str
    open: bool = False
    normal_open: bool = False
    retained: bool = False


class BusVoltage(msgspec.Struct, frozen=True, kw_only=True):
    """A bus voltage from an SV profile or a power flow."""

    bus: str
    v_kv: float
    angle_degree: float


class GridModel(msgspec.Struct, frozen=True, kw_only=True):
    format_version: int = MODEL_FORMAT_VERSION
    name: str = ""
    source_cim: str = ""
    base_voltages: tuple[BaseVoltage, ...] = ()
    buses: tuple[Bus, ...] = ()
    lines: tuple[Line, ...] = ()
    transformers: tuple[Transformer, ...] = ()
    loads: tuple[Load, ...] = ()
    generators: tuple[Generator, ...] = ()
    static_generators: tuple[StaticGenerator, ...] = ()
    external_grids: tuple[ExternalGrid, ...] = ()
    shunts: tuple[Shunt, ...] = ()
    switches: tuple[Switch, ...] = ()
    sv_voltages: tuple[BusVoltage, ...] = ()
    angle_reference_buses: tuple[str, ...] = ()


ELEMENT_LISTS: tuple[str, ...] = (
    "base_voltages",
    "buses",
    "lines",
    "transformers",
    "loads",
    "generators",
    "static_generators",
    "external_grids",
    "shunts",
    "switches",
)


class ModelSummary(msgspec.Struct, frozen=True, kw_only=True):
    counts: dict[str, int]
    voltage_levels_kv: tuple[float, ...]
    total_load_mw: float
    total_generation_mw: float


def summary(model: GridModel) -> ModelSummary:
    """Counts per element list and the voltage levels present: cheap enough for every listing."""
    counts = {name: len(getattr(model, name)) for name in ELEMENT_LISTS}
    levels = tuple(sorted({round(bus.vn_kv, 6) for bus in model.buses}, reverse=True))
    return ModelSummary(
        counts=counts,
        voltage_levels_kv=levels,
        total_load_mw=sum(load.p_mw for load in model.loads if load.in_service),
        total_generation_mw=sum(g.p_mw for g in model.generators if g.in_service)
        + sum(g.p_mw for g in model.static_generators if g.in_service),
    )


def find_bus(model: GridModel, mrid: str) -> Bus | None:
    """Resolve a node mRID (topological or connectivity node) to its bus."""
    for bus in model.buses:
        if bus.mrid == mrid or mrid in bus.connectivity_node_mrids:
            return bus
    return None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(GridModel)


def to_json(model: GridModel) -> bytes:
    return _encoder.encode(model)


def from_json(data: bytes) -> GridModel:
    return _decoder.decode(data)

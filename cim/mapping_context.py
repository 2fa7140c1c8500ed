"""Indices over cimpy's object dict that every mapping step needs (terminals, buses, SV values)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from cim import topology
from cim.report import Finding, Severity
from cim.scan import Scan

SWITCH_CLASSES = frozenset(
    {"Switch", "Breaker", "Disconnector", "LoadBreakSwitch", "Fuse", "Jumper"}
)


def mrid_of(obj: Any) -> str | None:
    value = getattr(obj, "mRID", None)
    return value if isinstance(value, str) else None


def num(obj: Any, attribute: str, default: float = 0.0) -> float:
    value = getattr(obj, attribute, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def text(obj: Any, attribute: str) -> str:
    value = getattr(obj, attribute, None)
    return value if isinstance(value, str) else ""


class Context:
    """Everything derived once from cimpy's topology dict; mapping steps only read it."""

    def __init__(self, objects: dict[str, Any], scan: Scan) -> None:
        self.objects = objects
        self.scan = scan
        self.findings: list[Finding] = []
        self.by_class: dict[str, list[Any]] = defaultdict(list)
        for mrid, obj in objects.items():
            self.by_class[type(obj).__name__].append(obj)
            if mrid_of(obj) is None and hasattr(obj, "mRID"):
                obj.mRID = mrid
        self.terminals: dict[str, list[Any]] = defaultdict(list)
        refs: list[topology.TerminalRef] = []
        for t in self.by_class["Terminal"]:
            equipment = mrid_of(t.ConductingEquipment)
            if equipment is None:
                continue
            self.terminals[equipment].append(t)
            refs.append(
                topology.TerminalRef(
                    mrid_of(t) or "",
                    equipment,
                    mrid_of(t.ConnectivityNode),
                    mrid_of(t.TopologicalNode),
                )
            )
        for ts in self.terminals.values():
            if all(int(num(t, "sequenceNumber")) > 0 for t in ts):
                ts.sort(key=lambda t: int(num(t, "sequenceNumber")))
        switches = {
            mrid_of(s) or "": topology.SwitchState(
                open=self.switch_open(s), retained=bool(s.retained)
            )
            for cls in SWITCH_CLASSES
            for s in self.by_class[cls]
        }
        cn_to_tn = {
            mrid_of(cn) or "": tn
            for cn in self.by_class["ConnectivityNode"]
            if (tn := mrid_of(cn.TopologicalNode)) is not None
        }
        defined = [mrid_of(tn) or "" for tn in self.by_class["TopologicalNode"]]
        self.topology = topology.process(refs, switches, cn_to_tn, defined)
        self.tn_bus: dict[str, str] = {}
        for bus, nodes in self.topology.bus_nodes.items():
            for node in nodes:
                self.tn_bus[cn_to_tn.get(node, node)] = bus
        self.sv_flow = {mrid_of(f.Terminal): f for f in self.by_class["SvPowerFlow"]}

    def has(self, attribute: str, mrid: str | None) -> bool:
        """Was the attribute really in the files (not a cimpy default)?"""
        return mrid is not None and mrid in self.scan.present.get(attribute, ())

    def switch_open(self, switch: Any) -> bool:
        if self.has("Switch.open", mrid_of(switch)):
            return bool(switch.open)
        return bool(switch.normalOpen)

    def terminal_connected(self, terminal: Any) -> bool:
        mrid = mrid_of(terminal)
        if self.has("ACDCTerminal.connected", mrid) or self.has("Terminal.connected", mrid):
            return bool(terminal.connected)
        return True

    def bus_of(self, terminal: Any) -> str | None:
        return self.topology.terminal_bus.get(mrid_of(terminal) or "")

    def equipment_buses(self, equipment: Any, count: int) -> list[str] | None:
        """The buses at the equipment's first `count` terminals, or None with a finding."""
        mrid = mrid_of(equipment) or ""
        terminals = self.terminals.get(mrid, [])
        if len(terminals) < count:
            self.finding(
                "missing_terminal",
                "error",
                mrid,
                "Terminal.ConductingEquipment",
                f"{type(equipment).__name__} has {len(terminals)} terminals, needs {count}",
            )
            return None
        buses = [self.bus_of(t) for t in terminals[:count]]
        for t, bus in zip(terminals, buses, strict=False):
            if bus is None:
                attribute = (
                    "Terminal.ConnectivityNode"
                    if self.topology.node_breaker
                    else "Terminal.TopologicalNode"
                )
                self.finding(
                    "unconnected_terminal",
                    "error",
                    mrid_of(t),
                    attribute,
                    f"terminal of {type(equipment).__name__} {mrid} has no node",
                )
                return None
        return [b for b in buses if b is not None]

    def in_service(self, equipment: Any) -> bool:
        return all(
            self.terminal_connected(t) for t in self.terminals.get(mrid_of(equipment) or "", [])
        )

    def finding(
        self, code: str, severity: Severity, mrid: str | None, attribute: str | None, message: str
    ) -> None:
        file = self.scan.defined_in.get(mrid or "")
        self.findings.append(
            Finding(
                code=code,
                severity=severity,
                message=message,
                file=file,
                mrid=mrid,
                attribute=attribute,
            )
        )

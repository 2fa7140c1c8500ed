"""Topology processing: connectivity nodes joined by closed, non-retained switches become buses.

Retained switches stay as switch elements between two buses, as CGMES topology processors do, so
operators can still open them. Pure data in, data out: no cimpy here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

import msgspec


class TerminalRef(msgspec.Struct, frozen=True):
    mrid: str
    equipment: str
    connectivity_node: str | None
    topological_node: str | None


class SwitchState(msgspec.Struct, frozen=True):
    open: bool
    retained: bool


class Topology(msgspec.Struct, frozen=True):
    terminal_bus: dict[str, str]
    bus_nodes: dict[str, tuple[str, ...]]
    node_breaker: bool


def _find(parent: dict[str, str], node: str) -> str:
    root = node
    while parent[root] != root:
        root = parent[root]
    while parent[node] != root:
        parent[node], node = root, parent[node]
    return root


def process(
    terminals: Iterable[TerminalRef],
    switches: Mapping[str, SwitchState],
    cn_to_tn: Mapping[str, str],
    topological_nodes: Iterable[str] = (),
) -> Topology:
    terminals = list(terminals)
    node_breaker = any(t.connectivity_node for t in terminals)
    if not node_breaker:
        mapping = {t.mrid: t.topological_node for t in terminals if t.topological_node}
        buses: dict[str, tuple[str, ...]] = {
            tn: (tn,) for tn in (*topological_nodes, *mapping.values())
        }
        return Topology(terminal_bus=mapping, bus_nodes=buses, node_breaker=False)

    parent: dict[str, str] = {}
    for t in terminals:
        if t.connectivity_node:
            parent.setdefault(t.connectivity_node, t.connectivity_node)
    for cn in cn_to_tn:
        parent.setdefault(cn, cn)
    by_switch: dict[str, list[str]] = defaultdict(list)
    for t in terminals:
        if t.equipment in switches and t.connectivity_node:
            by_switch[t.equipment].append(t.connectivity_node)
    for mrid, nodes in by_switch.items():
        state = switches[mrid]
        if not state.open and not state.retained and len(nodes) == 2:
            a, b = _find(parent, nodes[0]), _find(parent, nodes[1])
            if a != b:
                parent[max(a, b)] = min(a, b)

    groups: dict[str, list[str]] = defaultdict(list)
    for cn in parent:
        groups[_find(parent, cn)].append(cn)
    tn_owners: dict[str, int] = defaultdict(int)
    for nodes in groups.values():
        for tn in {cn_to_tn[cn] for cn in nodes if cn in cn_to_tn}:
            tn_owners[tn] += 1
    cn_bus: dict[str, str] = {}
    bus_nodes: dict[str, tuple[str, ...]] = {}
    for nodes in groups.values():
        tns = {cn_to_tn.get(cn) for cn in nodes}
        single = next(iter(tns)) if len(tns) == 1 else None
        # Keep the topological node's mRID when the TP profile agrees with our processing, so
        # orders and SV voltages written against it still resolve.
        bus = single if single is not None and tn_owners[single] == 1 else min(nodes)
        bus_nodes[bus] = tuple(sorted(nodes))
        for cn in nodes:
            cn_bus[cn] = bus
    mapping = {t.mrid: cn_bus[t.connectivity_node] for t in terminals if t.connectivity_node}
    return Topology(terminal_bus=mapping, bus_nodes=bus_nodes, node_breaker=True)

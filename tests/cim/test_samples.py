from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cim.importer import import_cgmes
from cim.model import find_bus, from_json, summary, to_json
from tests.cim.samples import ALL, BUS_BRANCH, CIGRE_MV, NODE_BREAKER, xml_files

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("folder", ALL, ids=lambda p: p.name)
def test_every_sample_imports(folder: Path) -> None:
    model, report = import_cgmes(xml_files(folder))
    assert model.buses
    assert not report.errors
    assert from_json(to_json(model)) == model


def test_cigre_mv_counts_follow_the_files() -> None:
    model, report = import_cgmes(xml_files(CIGRE_MV))
    counts = summary(model).counts
    assert counts["buses"] == 15
    assert counts["lines"] == 12
    assert counts["transformers"] == 2
    assert counts["loads"] == 18
    assert counts["external_grids"] == 1
    assert summary(model).voltage_levels_kv == (110.0, 20.0)
    line = next(x for x in model.lines if x.mrid == "L12-13")
    assert (line.r_ohm, line.x_ohm, line.length_km) == (1.64793, 1.75062, 4.89)
    assert line.i_max_ka == pytest.approx(0.32)
    assert report.profiles


def _topological_nodes(tp_file: Path) -> int:
    root = ET.parse(tp_file).getroot()  # noqa: S314 - cimpy's bundled sample
    return sum(1 for e in root if e.tag.endswith("}TopologicalNode"))


def _connectivity_nodes_only(tp_file: Path) -> bytes:
    """PowerFactory defines the connectivity nodes in its TP file: keep them, drop every
    topological node and every terminal-to-node assignment it computed."""
    tree = ET.parse(tp_file)  # noqa: S314 - cimpy's bundled sample
    root = tree.getroot()
    for element in list(root):
        if not element.tag.endswith("}ConnectivityNode") or not any(
            "ID" in k for k in element.attrib
        ):
            if not element.tag.endswith("}FullModel"):
                root.remove(element)
            continue
        for child in list(element):
            if child.tag.endswith("ConnectivityNode.TopologicalNode"):
                element.remove(child)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def test_node_breaker_sample_yields_the_buses_of_its_topology_profile() -> None:
    # PowerFactory wrote the TP profile (12 topological nodes; its closed breakers are retained,
    # the open ones separate). Our own processing, without the TP file, must find the same count.
    tp = next(p for p in xml_files(NODE_BREAKER) if "_TP_" in p.name)
    expected = _topological_nodes(tp)
    assert expected == 12
    with_tp, _ = import_cgmes(xml_files(NODE_BREAKER))
    no_tp = [
        (p.name, p.read_bytes())
        for p in xml_files(NODE_BREAKER)
        if "_TP_" not in p.name and "_SV_" not in p.name
    ]
    without_tp, _ = import_cgmes([*no_tp, ("cn_only.xml", _connectivity_nodes_only(tp))])
    bus_branch, _ = import_cgmes(xml_files(BUS_BRANCH))
    assert len(with_tp.buses) == len(without_tp.buses) == len(bus_branch.buses) == expected
    assert len(with_tp.switches) == 10
    assert sum(sw.open for sw in with_tp.switches) == 5
    cn = with_tp.buses[0].connectivity_node_mrids[0]
    assert find_bus(with_tp, cn) == with_tp.buses[0]


def test_progress_reports_monotonic_fractions() -> None:
    seen: list[tuple[float, str]] = []
    import_cgmes(xml_files(CIGRE_MV), progress=lambda f, s: seen.append((f, s)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)
    assert seen[-1] == (1.0, "done")

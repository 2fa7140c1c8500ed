from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import msgspec
import pytest

from cim.export import to_cgmes, to_pandapower_json
from cim.importer import import_cgmes
from cim.model import ELEMENT_LISTS, GridModel
from tests.cim.samples import ALL, CIGRE_MV, xml_files

pytestmark = pytest.mark.unit

# Bus-branch export: connectivity nodes are not written; the source namespace is ours; the
# winding connection enum is not carried through cimpy's serializer.
_NOT_ROUND_TRIPPED = {"connectivity_node_mrids", "connection_kind"}


def _close(a: Any, b: Any, path: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict)
        for key in a.keys() - _NOT_ROUND_TRIPPED:
            _close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple), path
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), path
    else:
        assert a == b, path


def _assert_same(first: GridModel, second: GridModel) -> None:
    for name in ELEMENT_LISTS:
        assert len(getattr(first, name)) == len(getattr(second, name)), name
    ordered = {
        name: sorted(
            msgspec.to_builtins(getattr(m, name)), key=lambda e: e.get("mrid", e.get("bus"))
        )
        for m in (first,)
        for name in [*ELEMENT_LISTS, "sv_voltages"]
    }
    again = {
        name: sorted(
            msgspec.to_builtins(getattr(m, name)), key=lambda e: e.get("mrid", e.get("bus"))
        )
        for m in (second,)
        for name in [*ELEMENT_LISTS, "sv_voltages"]
    }
    _close(ordered, again, "model")


@pytest.mark.parametrize("folder", ALL, ids=lambda p: p.name)
def test_import_export_import_is_identity(folder: Path) -> None:
    model, _ = import_cgmes(xml_files(folder))
    profiles = to_cgmes(model)
    assert {"EQ", "TP", "SSH"} <= profiles.keys()
    again, _ = import_cgmes([(f"export_{p}.xml", data) for p, data in profiles.items()])
    _assert_same(model, again)


def test_pandapower_json_loads_back() -> None:
    import pandapower as pp

    model, _ = import_cgmes(xml_files(CIGRE_MV))
    net = pp.from_json_string(to_pandapower_json(model))
    assert len(net.bus) == len(model.buses)
    assert len(net.line) == len(model.lines)

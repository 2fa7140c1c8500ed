"""Mutated CGMES never escapes as anything but CimImportError."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cim.importer import import_cgmes
from cim.report import CimImportError
from tests.cim.samples import CIGRE_MV, xml_files

pytestmark = pytest.mark.unit

FILES = {p.name: p.read_bytes() for p in xml_files(CIGRE_MV)}
NAMES = sorted(FILES)
_VALUE = re.compile(rb">([^<>]+)</cim:")
_RESOURCE = re.compile(rb'rdf:resource="#([^"]+)"')
_ELEMENT = re.compile(rb"<cim:[A-Za-z.]+[^>]*/>|<cim:[A-Za-z.]+>[^<]*</cim:[A-Za-z.]+>")

replacement_values = st.sampled_from(
    [
        b"",
        b"-1",
        b"0",
        b"nan",
        b"inf",
        b"1e400",
        b"abc",
        b"true",
        b"\xff\xfe",
        b"&amp;",
        b"1.5",
        b"-0.0",
        b"99999999999999999999",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    files = dict(FILES)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(NAMES))
        if name not in files:
            continue
        data = files[name]
        kind = draw(st.sampled_from(["value", "reference", "drop", "truncate", "flip", "remove"]))
        pattern = {"value": _VALUE, "reference": _RESOURCE, "drop": _ELEMENT}.get(kind)
        if (pattern is not None and not pattern.search(data)) or (kind == "flip" and not data):
            continue
        if kind == "value":
            matches = list(_VALUE.finditer(data))
            m = matches[draw(st.integers(0, len(matches) - 1))]
            data = data[: m.start(1)] + draw(replacement_values) + data[m.end(1) :]
        elif kind == "reference":
            matches = list(_RESOURCE.finditer(data))
            m = matches[draw(st.integers(0, len(matches) - 1))]
            target = draw(st.sampled_from([b"missing", b"N0", b"TR1", b"L12-13", b""]))
            data = data[: m.start(1)] + target + data[m.end(1) :]
        elif kind == "drop":
            matches = list(_ELEMENT.finditer(data))
            m = matches[draw(st.integers(0, len(matches) - 1))]
            data = data[: m.start()] + data[m.end() :]
        elif kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif kind == "flip":
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        else:
            files.pop(name, None)
            continue
        files[name] = data
    return list(files.items())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_raise_only_our_error(files: list[tuple[str, bytes]]) -> None:
    failure: CimImportError | None = None
    try:
        import_cgmes(files)
    except CimImportError as exc:
        failure = exc
    if failure is not None:
        assert failure.findings
        assert failure.findings[0].severity in {"error", "warning"}

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cim.cli import cim
from cim.model import from_json
from tests.cim.samples import CIGRE_MV, xml_files

pytestmark = pytest.mark.unit


def test_cli_imports_and_writes_the_model(tmp_path: Path) -> None:
    out = tmp_path / "model.json"
    result = CliRunner().invoke(
        cim, ["import", *map(str, xml_files(CIGRE_MV)), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "voltage levels" in result.output
    assert len(from_json(out.read_bytes()).buses) == 15


def test_cli_reports_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<rdf:RDF")
    result = CliRunner().invoke(cim, ["import", str(bad)])
    assert result.exit_code == 1
    assert "malformed_xml" in result.output

"""The committed OpenAPI document is what the app generates, and it is a valid OpenAPI 3.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from gateway.openapi_doc import render_openapi

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


@pytest.mark.unit
def test_committed_openapi_matches_the_app() -> None:
    assert COMMITTED.read_text() == render_openapi(), "openapi/ drifted: run `make openapi`"


@pytest.mark.unit
def test_openapi_validates() -> None:
    document = json.loads(COMMITTED.read_text())
    validate(document)
    assert document["openapi"].startswith("3.1")
    operation_ids = [
        op["operationId"] for path in document["paths"].values() for op in path.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))

"""The committed OpenAPI document is exactly what the app generates, and it is valid OpenAPI 3.1."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from gateway.openapi_doc import render_openapi

pytestmark = pytest.mark.unit

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in document["paths"].values() for op in item.values()]


def test_committed_document_matches_the_app() -> None:
    rendered = render_openapi()
    committed = COMMITTED.read_text()
    if committed != rendered:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    rendered.splitlines(keepends=True),
                    "openapi/openapi.json (committed)",
                    "render_openapi() (the app)",
                )
            )[:60]
        )
        pytest.fail(f"openapi/openapi.json is out of date: run `make openapi`\n{diff}")


def test_committed_document_is_valid_openapi_3_1() -> None:
    document = json.loads(COMMITTED.read_text())
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_operation_has_a_unique_operation_id() -> None:
    ids = [op.get("operationId") for op in _operations(json.loads(COMMITTED.read_text()))]
    assert None not in ids, "every route needs an explicit operation_id"
    assert len(ids) == len(set(ids)), f"duplicate operationIds: {sorted(map(str, ids))}"


def test_every_versioned_operation_is_secured_and_documents_its_errors() -> None:
    """Authenticated routes promise 401/403/429 as problem+json; paths are versioned."""
    document = json.loads(COMMITTED.read_text())
    for path, item in document["paths"].items():
        assert path.startswith("/v1/"), f"{path} is not versioned"
        for method, op in item.items():
            errors = {s: r for s, r in op["responses"].items() if s.startswith(("4", "5"))}
            for status, response in errors.items():
                assert "application/problem+json" in response.get("content", {}), (
                    f"{method.upper()} {path} {status} is not problem+json"
                )
            if op["operationId"] == "getHealth":
                continue
            assert op.get("security"), f"{method.upper()} {path} declares no security"
            assert {"401", "403", "429"} <= set(op["responses"]), (
                f"{method.upper()} {path} does not document 401/403/429"
            )
            if "requestBody" in op:
                assert "415" in op["responses"], f"{method.upper()} {path} lacks 415"

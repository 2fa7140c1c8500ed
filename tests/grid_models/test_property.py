"""Property: a mutated CGMES upload never gets a 500 and never leaves part of a model stored.

Mutations (values, references, dropped elements, truncation, byte flips, removed files) come
from the pure importer's property test; here they go through REST and the database."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from litestar.testing import TestClient

from gateway.cli.bootstrap import bootstrap_fmo
from gateway.core import create_app
from gateway.settings import Settings
from tests.cim.test_property import mutated
from tests.grid_models.driver import stored_state

pytestmark = pytest.mark.integration
MAX_EXAMPLES = 30  # per backend; each example is an import plus two database reads


def _setup(client: TestClient[Any], config: Settings) -> tuple[str, str]:
    _, issued = asyncio.run(bootstrap_fmo(config, f"FMO {uuid.uuid4().hex[:8]}"))
    fmo = {"X-API-Key": issued.key}
    dso = client.post("/v1/participants", json={"name": "dso", "role": "dso"}, headers=fmo)
    key = client.post("/v1/api-keys", json={"participant_id": dso.json()["id"]}, headers=fmo)
    dso_key = key.json()["key"]
    nodes = [{"mrid": "node-1", "name": "", "vn_kv": 20.0}]
    zone = client.post(
        "/v1/grid-zones", json={"name": "z", "nodes": nodes}, headers={"X-API-Key": dso_key}
    )
    assert zone.status_code == 201, zone.text
    return dso_key, zone.json()["id"]


def test_mutated_uploads_never_fail_with_500_nor_store_part_of_a_model(
    settings: Settings,
) -> None:
    with TestClient(create_app(settings)) as client:
        key, zone_id = _setup(client, settings)

        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(files=mutated())
        def upload(files: list[tuple[str, bytes]]) -> None:
            before = asyncio.run(stored_state(settings.database_url, zone_id))
            response = client.post(
                f"/v1/grid-zones/{zone_id}/models",
                files=[("files", (n, d, "application/xml")) for n, d in files],
                headers={"X-API-Key": key},
            )
            assert response.status_code in (201, 413, 422), response.text
            after = asyncio.run(stored_state(settings.database_url, zone_id))
            if response.status_code != 201:
                problem = response.json()
                assert problem["errors"], problem
                assert problem["errors"][0]["code"] != "unexpected_import_error", problem
                assert after == before
                return
            body = response.json()
            assert after["models"] == before["models"] + 1
            assert body["version"] == after["models"]
            stored = client.get(
                f"/v1/grid-zones/{zone_id}/models/{body['version']}/nodes",
                params={"limit": 1000},
                headers={"X-API-Key": key},
            )
            buses = {n["mrid"] for n in stored.json()["items"]}
            assert len(buses) == body["summary"]["counts"]["buses"]
            assert set(after["nodes"]) == buses | set(body["nodes"]["kept_referenced"])

        upload()

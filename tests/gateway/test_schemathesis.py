"""Property-based API testing: schemathesis over the OpenAPI document against the ASGI app.

Every operation of the committed document gets positive and negative examples, sent with a
real market-operator key and a real aggregator key (so requests go past authentication), and
each response must be no server error and conform to the document: status code, content type,
headers and body schema. 100 examples per operation and key under CI (`CI` set), 20 otherwise.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.case import Case
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.schemas import OpenApiSchema

from gateway.core import create_app
from gateway.settings import Settings
from tests.market import Market, MutableClock

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAX_EXAMPLES = 100 if os.environ.get("CI") else 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
OPERATION_IDS = sorted(
    operation["operationId"]
    for item in json.loads(OPENAPI.read_text())["paths"].values()
    for operation in item.values()
)


ENGINE_KIND = "fuzz-engine"


@dataclass(frozen=True)
class Target:
    schema: OpenApiSchema
    keys: dict[str, str]
    ids: dict[str, str]
    bodies: dict[str, Any]
    statuses: dict[str, Counter[int]] = field(default_factory=dict)

    def path_parameters(self, operation_id: str) -> dict[str, str]:
        """Identifiers of objects that exist, so fuzzing reaches past 404 to the 2xx answers."""
        order = "request" if "Request" in operation_id else "offer"
        session = "session2" if operation_id == "closeMarketSession" else "session"
        return {
            "zone_id": self.ids["zone"],
            "session_id": self.ids[session],
            "asset_id": self.ids["asset"],
            "order_id": self.ids[order],
            "participant_id": self.ids["agg"],
            "key_id": self.ids["spare_key"],
            "job_id": self.ids["job"],
        }


async def _populate(settings: Settings) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """A market with participants, zones, sessions, orders and keys, made by an app of its own
    (the app under test runs its lifespan in schemathesis's event loop thread)."""
    clock = MutableClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(settings, clock=clock, engine_kinds=lambda: frozenset({ENGINE_KIND}))
    async with AsyncTestClient(app) as client:
        market = await market_start(client, settings, clock)
        ids = market.ids
        ids["asset"] = await market.asset("agg", "zone", decide_by="dso")
        ids["pending_asset"] = await market.asset("agg", "zone")
        ids["offer"] = await market.flex_offer("agg", "session")
        ids["request"] = await market.flex_request("dso", "session")
        ids["spare_key"], _ = await market.key_for("agg")
        job = await market.call(
            "POST", "/v1/jobs", market.keys["agg"], {"kind": ENGINE_KIND, "input": {}}
        )
        ids["job"] = job.json()["id"]
        bodies = {
            "submitFlexOffer": market.offer_body("session"),
            "submitFlexRequest": market.request_body("session"),
            "registerFlexAsset": {
                "name": "fuzzed asset",
                "zone_id": ids["zone"],
                "node_mrid": "node-2",
                "kind": "battery",
                "p_max_mw": 1.0,
            },
            "openMarketSession": {
                "zone_id": ids["zone"],
                "name": "fuzzed session",
                "delivery": market.window(),
                "gate_closure_at": market.window()["start"],
            },
            "createGridZone": {"name": "fuzzed zone", "dso_id": ids["dso"], "nodes": []},
            "submitJob": {"kind": ENGINE_KIND, "input": {"periods": 24}},
            "issueApiKey": {"participant_id": ids["agg"], "label": "fuzzed"},
            "decideFlexAssetPrequalification": {"decision": "rejected", "reason": "fuzzed"},
        }
        return {"fmo": market.fmo_key, "aggregator": market.keys["agg"]}, dict(ids), bodies


async def market_start(
    client: AsyncTestClient[Litestar], settings: Settings, clock: MutableClock
) -> Market:
    market = await Market.start(client, settings, clock)
    await market.standard()
    return market


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    data_dir = tmp_path_factory.mktemp("schemathesis")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{data_dir / 'flexgrid.db'}",
        data_dir=data_dir,
        rate_limit_per_s=0,
        nats_enabled=False,
    )
    keys, ids, bodies = asyncio.run(_populate(settings))
    app = create_app(settings, engine_kinds=lambda: frozenset({ENGINE_KIND}))
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    target = Target(schema=schema, keys=keys, ids=ids, bodies=bodies)
    try:
        yield target
    finally:
        schemathesis_asgi.shutdown_lifespans()
    if os.environ.get("FLEXGRID_SCHEMATHESIS_REPORT"):
        for label, statuses in sorted(target.statuses.items()):
            print(f"{label:60} {dict(sorted(statuses.items()))}")


def test_the_served_document_is_the_committed_one(target: Target) -> None:
    assert target.schema.raw_schema == json.loads(OPENAPI.read_text())


@pytest.mark.parametrize("actor", ["fmo", "aggregator"])
@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_operation_conforms_to_its_schema(target: Target, operation_id: str, actor: str) -> None:
    operation = target.schema.find_operation_by_id(operation_id)
    # The key is fixed, not generated: negative cases break parameters and bodies, not the key
    # (the authorization matrix covers missing and bad keys).
    headers = {"X-API-Key": target.keys[actor]}
    documented = {p.name for p in operation.path_parameters}
    known = {k: v for k, v in target.path_parameters(operation_id).items() if k in documented}
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE, headers=headers),
        operation.as_strategy(GenerationMode.NEGATIVE, headers=headers),
    ]
    if known:
        strategies.append(
            operation.as_strategy(GenerationMode.POSITIVE, headers=headers, path_parameters=known)
        )
    if operation_id in target.bodies:
        strategies.append(
            operation.as_strategy(
                GenerationMode.POSITIVE,
                headers=headers,
                path_parameters=known,
                body=target.bodies[operation_id],
            )
        )
    cases = st.one_of(strategies)

    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def call_and_validate(case: Case[Any]) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses[response.status_code] += 1

    statuses: Counter[int] = Counter()
    call_and_validate()
    target.statuses[f"{operation_id} as {actor}"] = statuses
    # A 401 conforms to the document too: make sure the key really let every request through.
    assert 401 not in statuses, f"requests were refused as unauthenticated: {statuses}"

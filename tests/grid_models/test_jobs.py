"""Large uploads run as `cim-import` jobs: 202 + Location, progress events on the job's NATS
subject (the ones the SSE stream relays), the model stored at the end, a rejected model failing
the job with the same problem details, and a pending upload resumed after a restart."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import nats
import pytest
from litestar.testing import AsyncTestClient
from nats.js.api import DeliverPolicy

from gateway.auth.caller import Caller
from gateway.auth.scopes import ROLE_SCOPES
from gateway.core import AppParts, create_app
from gateway.db import migrate
from gateway.domain.grid_models.upload import Upload
from gateway.domain.grid_models.work import Part
from gateway.messages import subjects
from gateway.messages.common import Role
from gateway.settings import Settings
from tests.grid_models.conftest import with_settings
from tests.grid_models.driver import Models, cigre_files, stored_state
from tests.market import Market, MutableClock

pytestmark = pytest.mark.integration


async def _events(client: AsyncTestClient, job_id: str) -> list[dict[str, Any]]:
    """Every event of the job from its NATS subject, until it finishes. A connection of the
    test's own: the app's client lives on the app's event loop."""
    nc = await nats.connect(client.app.state.components.nats.embedded_url)
    sub = await nc.jetstream().subscribe(
        subjects.job_events(job_id), ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    events: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(60):
            async for msg in sub.messages:
                event = msgspec.json.decode(msg.data)
                events.append(event)
                if event["type"] in ("completed", "failed", "cancelled"):
                    return events
    finally:
        await sub.unsubscribe()
        await nc.close()
    return events


async def _job(models: Models, job_id: str) -> dict[str, Any]:
    response = await models.market.call("GET", f"/v1/jobs/{job_id}", models.market.keys["dso"])
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def job_settings(settings: Settings) -> Settings:
    # Every upload is "large"; the import runs in a worker process (the production runner).
    return with_settings(
        settings, nats_enabled=True, grid_import_async_bytes=1, grid_import_workers=1
    )


async def test_large_upload_runs_as_a_job_with_progress(
    job_settings: Settings, clock: MutableClock
) -> None:
    async with AsyncTestClient(create_app(job_settings, clock=clock)) as client:
        market = await Market.start(client, job_settings, clock)
        models = await Models.start(market)
        response = await models.upload(name="big")
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        assert response.headers["location"] == f"/v1/jobs/{job_id}"
        assert response.json()["kind"] == "cim-import"

        events = await _events(client, job_id)
        kinds = [e["type"] for e in events]
        assert kinds[0] == "accepted"
        assert kinds[-1] == "completed", events
        progress = [e["progress"] for e in events if e["type"] == "running"]
        assert len(progress) >= 2
        assert progress == sorted(progress)
        assert all(0.0 <= p <= 1.0 for p in progress)
        assert any(0.0 < p < 1.0 for p in progress)
        output = events[-1]["output"]
        assert output["version"] == 1
        assert output["model_url"] == f"{models.base}/1"

        result = await market.call("GET", f"/v1/jobs/{job_id}/result", market.keys["dso"])
        assert result.json()["output"] == output
        assert (await _job(models, job_id))["status"] == "completed"
        detail = await models.get("/1")
        assert detail.json()["job_id"] == job_id
        assert detail.json()["summary"]["counts"]["buses"] == 15
        state = await stored_state(job_settings.database_url, models.zone_id)
        assert (state["models"], state["pending"]) == (1, 0)


async def test_rejected_model_fails_the_job_and_stores_nothing(
    job_settings: Settings, clock: MutableClock
) -> None:
    async with AsyncTestClient(create_app(job_settings, clock=clock)) as client:
        market = await Market.start(client, job_settings, clock)
        models = await Models.start(market)
        files = cigre_files()
        eq = next(n for n in files if n.endswith("_EQ.xml"))
        files[eq] = files[eq].replace(
            b'<cim:Terminal.ConductingEquipment rdf:resource="#Load7-I"/>',
            b'<cim:Terminal.ConductingEquipment rdf:resource="#nowhere"/>',
        )
        response = await models.upload(files)
        assert response.status_code == 202
        job_id = response.json()["id"]
        events = await _events(client, job_id)
        assert events[-1]["type"] == "failed"
        problem = events[-1]["problem"]
        assert problem["status"] == 422
        assert problem["errors"][0]["location"] == (
            f"file:{eq}/mrid:E-288/attribute:Terminal.ConductingEquipment"
        )
        result = await market.call("GET", f"/v1/jobs/{job_id}/result", market.keys["dso"])
        assert result.json()["status"] == "failed"
        state = await stored_state(job_settings.database_url, models.zone_id)
        assert (state["models"], state["pending"]) == (0, 0)
        assert state["nodes"] == [f"node-{i}" for i in range(1, 6)]


async def test_zip_bomb_is_refused_before_the_job_is_accepted(
    job_settings: Settings, clock: MutableClock
) -> None:
    from tests.grid_models.driver import zipped

    async with AsyncTestClient(create_app(job_settings, clock=clock)) as client:
        market = await Market.start(client, job_settings, clock)
        models = await Models.start(market)
        before = await stored_state(job_settings.database_url, models.zone_id)
        response = await models.upload({"bomb.zip": zipped({"b.xml": b"<" + b" " * 50_000_000})})
        assert response.status_code == 413
        assert response.json()["errors"][0]["file"] == "b.xml".join(("bomb.zip/", ""))
        assert await stored_state(job_settings.database_url, models.zone_id) == before


async def test_pending_upload_survives_a_restart(settings: Settings, clock: MutableClock) -> None:
    """The first gateway accepts the upload and stops before running it (as a crash would);
    the next one to start finds the upload and imports it."""
    quiet = with_settings(settings, grid_import_async_bytes=1)
    async with AsyncTestClient(create_app(quiet, clock=clock)) as client:
        market = await Market.start(client, quiet, clock)
        models = await Models.start(market)
    first = AppParts.build(quiet, clock)
    await migrate.upgrade(first.db.engine)
    caller = Caller(
        participant_id=market.ids["dso"],
        role=Role.DSO,
        scopes=ROLE_SCOPES[Role.DSO],
        key_id="test",
    )
    upload = Upload(parts=tuple(Part(n, d) for n, d in cigre_files().items()), name="resumed")
    accepted = await first.grid_imports.accept(caller, models.zone_id, upload)
    await first.db.dispose()
    state = await stored_state(quiet.database_url, models.zone_id)
    assert (state["models"], state["pending"]) == (0, 1)

    async with AsyncTestClient(create_app(quiet, clock=clock)) as client:
        market.client = client
        async with asyncio.timeout(60):
            while (await _job(models, accepted.id))["status"] != "completed":  # noqa: ASYNC110 -- polling the REST status is the point
                await asyncio.sleep(0.05)
        detail = await models.get("/latest")
        assert detail.json()["name"] == "resumed"
        assert detail.json()["job_id"] == accepted.id
    state = await stored_state(quiet.database_url, models.zone_id)
    assert (state["models"], state["pending"]) == (1, 0)


async def test_cancelled_job_stores_nothing(settings: Settings, clock: MutableClock) -> None:
    quiet = with_settings(settings, grid_import_async_bytes=1)
    async with AsyncTestClient(create_app(quiet, clock=clock)) as client:
        market = await Market.start(client, quiet, clock)
        models = await Models.start(market)
    # The service parts without their runner loop, so the cancel surely comes first.
    parts = AppParts.build(quiet, clock)
    try:
        caller = Caller(
            participant_id=market.ids["dso"],
            role=Role.DSO,
            scopes=ROLE_SCOPES[Role.DSO],
            key_id="test",
        )
        upload = Upload(parts=tuple(Part(n, d) for n, d in cigre_files().items()), name="x")
        accepted = await parts.grid_imports.accept(caller, models.zone_id, upload)
        assert (await parts.jobs.cancel(caller, accepted.id)).status == "cancelled"
        await parts.grid_imports.run(accepted.id)
    finally:
        await parts.model_runner.close()
        await parts.db.dispose()
    state = await stored_state(quiet.database_url, models.zone_id)
    assert (state["models"], state["pending"]) == (0, 0)

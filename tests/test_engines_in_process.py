"""The embedded default: a gateway with `engines="in-process"` runs jobs with no worker started.

The needs-identification engine runs on CIGRE MV inside the gateway process, and the job reaches
`completed` through the same JetStream queue and event consumer external workers use.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from gateway.core import create_app
from gateway.settings import Settings
from tests.market import Market, MutableClock

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(settings: Settings, clock: MutableClock) -> AsyncIterator[AsyncTestClient]:
    in_process = msgspec.structs.replace(settings, engines="in-process")
    async with AsyncTestClient(create_app(in_process, clock=clock)) as test_client:
        yield test_client


async def test_echo_job_completes_inside_the_gateway(market: Market) -> None:
    await market.participant("dso", "dso")
    key = market.keys["dso"]
    submitted = await market.call(
        "POST", "/v1/jobs", key, {"kind": "echo", "input": {"text": "flexgrid"}}
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    for _ in range(400):
        job = (await market.call("GET", f"/v1/jobs/{job_id}", key)).json()
        if job["status"] in ("completed", "failed"):
            break
        await asyncio.sleep(0.05)
    assert job["status"] == "completed", job
    result = (await market.call("GET", f"/v1/jobs/{job_id}/result", key)).json()
    assert result["status"] == "completed"
    # sha256("flexgrid"), computed independently (coreutils sha256sum).
    assert result["output"]["sha256"] == (
        "53fd281c5b1d63f4c9f699497276abf5346d126afb3ba62896caf6925d6fee54"
    )


def test_unknown_engine_mode_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="FLEXGRID_ENGINES"):
        msgspec.structs.replace(settings, engines="sometimes")

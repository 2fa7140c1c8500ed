"""An AFAT job end to end: a real nats-server, the EngineRunner, the engine from its entry
point, and the result read back from the job's events."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from engines.afat.schema import AggregationResult
from engines.registry import Registry
from engines.runner import EngineRunner
from gateway.messages.events import JobCompleted
from tests.engines._runtime import nats_link, submit, wait_terminal
from tests.engines.afat.test_aggregation import curtailable_case

pytestmark = pytest.mark.integration


async def test_aggregation_job_over_nats(tmp_path: Path) -> None:
    async with nats_link(tmp_path) as (_, nc, js):
        registry = Registry.from_entry_points(["afat-aggregate"])
        runner = EngineRunner(nc, registry, ack_wait_s=30)
        await runner.start()
        try:
            job = await submit(js, "afat-aggregate", msgspec.to_builtins(curtailable_case(0.010)))
            done = await wait_terminal(js, job, timeout_s=90)
        finally:
            await runner.stop()
    assert isinstance(done, JobCompleted), done
    result = msgspec.json.decode(bytes(done.output), type=AggregationResult)
    assert result.status == "optimal"
    assert [(s.p_mw, s.price_eur_per_mwh) for s in result.offer_steps] == [
        pytest.approx((0.002, 35.0)),
        pytest.approx((0.002, 85.0)),
    ]

"""The engine runtime against a real nats-server: results, load sharing, retries and
dead-lettering, cancellation, and redeliveries of finished jobs."""

from __future__ import annotations

import asyncio
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import nats
import pandapower as pp
import pandapower.networks as pn
import pytest

from cim.importer import import_cgmes
from cim.to_pandapower import run_power_flow
from engines.echo import EchoEngine
from engines.fmct.needs_engine import NeedsEngine
from engines.fmct.schema import NeedsResult
from engines.registry import Registry, UnknownEngineError
from engines.runner import EngineRunner
from gateway.messages import subjects
from gateway.messages.events import JobCancelled, JobCompleted, JobFailed, JobRunning
from tests.cim.samples import CIGRE_MV, xml_files
from tests.engines._runtime import (
    DyingEngine,
    RaisingEngine,
    events,
    jobs_left,
    nats_link,
    new_job_id,
    submit,
    wait_terminal,
)

pytestmark = pytest.mark.integration

BAND = {"v_min_pu": 0.95, "v_max_pu": 1.05}
# A heavy evening (no PV or wind, loads x1.6) and a sunny, windy noon with light load.
SCHEDULES: list[dict[str, Any]] = [
    {"period_index": 0, "start": "2025-06-01T18:00:00Z", "load_scaling": 1.6, "sgen_scaling": 0.0},
    {"period_index": 1, "start": "2025-06-01T12:00:00Z", "load_scaling": 0.3, "sgen_scaling": 4.0},
]


def long_day(periods: int) -> dict[str, Any]:
    return {
        "network": "cigre_mv",
        "options": BAND,
        "schedules": [
            {"period_index": i, "start": "2025-06-01T00:00:00Z", "load_scaling": 1.0 + i % 3 / 10}
            for i in range(periods)
        ],
    }


def pandapower_reference(load_scaling: float, sgen_scaling: float) -> Any:
    """pandapower's own power flow of the same CIGRE MV net and period."""
    net = pn.create_cigre_network_mv(with_der="pv_wind")
    net.load["p_mw"] *= load_scaling
    net.load["q_mvar"] *= load_scaling
    net.sgen["p_mw"] *= sgen_scaling
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pandas, inside pandapower's writers
        pp.runpp(net, numba=False)
    return net


async def test_needs_job_on_cigre_mv_matches_pandapower(tmp_path: Path) -> None:
    async with nats_link(tmp_path) as (_, nc, js):
        runner = EngineRunner(nc, Registry([NeedsEngine()]), ack_wait_s=10)  # worker processes
        await runner.start()
        try:
            job = await submit(
                js, "fmct-needs", {"network": "cigre_mv", "schedules": SCHEDULES, "options": BAND}
            )
            done = await wait_terminal(js, job, timeout_s=60)
        finally:
            await runner.stop()
        assert await jobs_left(js) == 0
    assert isinstance(done, JobCompleted)
    assert done.worker == runner.worker_id
    result = msgspec.json.decode(done.output, type=NeedsResult)
    assert result.status == "optimal"
    for period, schedule in zip(result.periods, SCHEDULES, strict=True):
        net = pandapower_reference(schedule["load_scaling"], schedule["sgen_scaling"])
        for element, table in (("line", net.res_line), ("trafo", net.res_trafo)):
            expected = table.loading_percent[table.loading_percent > 100.0]
            got = {c.id: c.loading_percent for c in period.congested if c.element == element}
            assert got.keys() == {str(i) for i in expected.index}
            for idx, loading in expected.items():
                assert got[str(idx)] == pytest.approx(loading, rel=1e-4)
        vm = net.res_bus.vm_pu[net.bus.in_service]
        outside = vm[(vm < BAND["v_min_pu"]) | (vm > BAND["v_max_pu"])]
        got_vm = {d.bus: d.vm_pu for d in period.voltage_deviations if d.bus}
        assert got_vm.keys() == {str(i) for i in outside.index}
        for idx, value in outside.items():
            assert got_vm[str(idx)] == pytest.approx(value, abs=1e-6)
        assert period.min_vm_pu == pytest.approx(vm.min(), abs=1e-6)
    # The test schedules do what they are meant to: both kinds of need appear.
    assert result.periods[0].congested
    assert result.periods[0].voltage_deviations
    assert any(d.vm_pu > 1.05 for d in result.periods[1].voltage_deviations)


async def test_needs_job_on_an_imported_cgmes_model_reports_mrids(tmp_path: Path) -> None:
    model, _ = import_cgmes(xml_files(CIGRE_MV))
    reference = run_power_flow(model)
    band = {"v_min_pu": 0.99, "v_max_pu": 1.01}  # tight, so that some nodes fall outside
    async with nats_link(tmp_path) as (_, nc, js):
        runner = EngineRunner(nc, Registry([NeedsEngine()]), in_process=True)
        await runner.start()
        try:
            job = await submit(js, "fmct-needs", {"network": model, "options": band})
            done = await wait_terminal(js, job, timeout_s=60)
        finally:
            await runner.stop()
    assert isinstance(done, JobCompleted)
    period = msgspec.json.decode(done.output, type=NeedsResult).periods[0]
    outside = {mrid: vm for mrid, vm in reference.vm_pu.items() if not 0.99 <= vm <= 1.01}
    got = {d.bus: d.vm_pu for d in period.voltage_deviations}
    assert outside
    assert got.keys() == outside.keys()
    for mrid, vm in outside.items():
        assert got[mrid] == pytest.approx(vm, abs=1e-6)


async def test_two_workers_share_the_queue(tmp_path: Path) -> None:
    async with nats_link(tmp_path) as (url, _, js):
        links = [await nats.connect(url) for _ in range(2)]
        runners = [
            EngineRunner(nc, Registry([NeedsEngine()]), in_process=True, worker_id=f"w{i}")
            for i, nc in enumerate(links)
        ]
        for runner in runners:
            await runner.start()
        try:
            jobs = [await submit(js, "fmct-needs", {"network": "case33bw"}) for _ in range(12)]
            finals = [await wait_terminal(js, job) for job in jobs]
            stored = [await events(js, job) for job in jobs]
        finally:
            for runner in runners:
                await runner.stop()
            for nc in links:
                await nc.close()
        assert await jobs_left(js) == 0
    assert all(isinstance(f, JobCompleted) for f in finals)
    for history in stored:
        assert sum(isinstance(e, JobCompleted) for e in history) == 1
    by_worker = {r.worker_id: r.completed for r in runners}
    assert sum(by_worker.values()) == 12
    assert min(by_worker.values()) >= 1, by_worker


async def test_a_failing_engine_is_retried_then_dead_lettered(tmp_path: Path) -> None:
    async with nats_link(tmp_path) as (_, nc, js):
        runner = EngineRunner(
            nc, Registry([RaisingEngine()]), in_process=True, max_attempts=3, retry_delay_s=0.05
        )
        await runner.start()
        try:
            job = await submit(js, "raises", {"text": "x"})
            final = await wait_terminal(js, job)
            history = await events(js, job)
        finally:
            await runner.stop()
        assert await jobs_left(js) == 0  # terminated, not left to rot in the work queue
        copy = await js.get_last_msg("ATP_DEAD_LETTERS", "atp.v1.deadletter.jobs.raises")
        assert job.encode() in (copy.data or b"")
    assert isinstance(final, JobFailed)
    assert (final.attempt, final.dead_lettered, final.problem.status) == (3, True, 500)
    assert "ZeroDivisionError: bug on x" in (final.problem.detail or "")
    failures = [e for e in history if isinstance(e, JobFailed)]
    assert [(f.attempt, f.dead_lettered) for f in failures] == [(1, False), (2, False), (3, True)]
    assert not any(isinstance(e, JobCompleted) for e in history)


async def test_invalid_input_is_dead_lettered_at_once(tmp_path: Path) -> None:
    async with nats_link(tmp_path) as (_, nc, js):
        runner = EngineRunner(nc, Registry([EchoEngine()]), in_process=True)
        await runner.start()
        try:
            job = await submit(js, "echo", {"txt": "typo"})
            final = await wait_terminal(js, job)
        finally:
            await runner.stop()
    assert isinstance(final, JobFailed)
    assert (final.attempt, final.dead_lettered, final.problem.status) == (1, True, 422)
    assert "txt" in (final.problem.detail or "")


async def test_a_dead_engine_process_counts_as_a_failed_attempt(tmp_path: Path) -> None:
    async with nats_link(tmp_path) as (_, nc, js):
        runner = EngineRunner(nc, Registry([DyingEngine()]), max_attempts=2, retry_delay_s=0.05)
        await runner.start()
        try:
            job = await submit(js, "dies", {"text": "x"})
            final = await wait_terminal(js, job)
            history = await events(js, job)
        finally:
            await runner.stop()
    assert isinstance(final, JobFailed)
    assert (final.attempt, final.dead_lettered) == (2, True)
    first = next(e for e in history if isinstance(e, JobFailed))
    assert "engine process died (exit code -9)" in (first.problem.detail or "")


async def test_a_cancelled_job_is_skipped(tmp_path: Path) -> None:
    async with nats_link(tmp_path) as (_, nc, js):
        job = new_job_id()
        cancel = JobCancelled(job_id=job, at=datetime.now(UTC))
        await js.publish(subjects.job_events(job), msgspec.json.encode(cancel))
        runner = EngineRunner(nc, Registry([EchoEngine()]), in_process=True)
        await runner.start()
        try:
            await submit(js, "echo", {"text": "late"}, job_id=job)
            after = await submit(js, "echo", {"text": "next"})
            await wait_terminal(js, after)  # one slot, in order: the cancelled one went first
        finally:
            await runner.stop()
        assert await jobs_left(js) == 0
        assert await events(js, job) == [cancel]


async def test_a_running_job_is_abandoned_on_cancel(tmp_path: Path) -> None:
    async with nats_link(tmp_path) as (_, nc, js):
        runner = EngineRunner(nc, Registry([NeedsEngine()]), ack_wait_s=10)
        await runner.start()
        try:
            job = await submit(js, "fmct-needs", long_day(400))
            for _ in range(400):  # the engine is past its first period: really running
                history = await events(js, job)
                if any(isinstance(e, JobRunning) and e.progress > 0 for e in history):
                    break
                await asyncio.sleep(0.05)
            cancel = JobCancelled(job_id=job, at=datetime.now(UTC))
            await js.publish(subjects.job_events(job), msgspec.json.encode(cancel))
            for _ in range(100):
                if await jobs_left(js) == 0:
                    break
                await asyncio.sleep(0.05)
            assert await jobs_left(js) == 0
            # The worker is free again (its engine process was replaced) and still correct.
            after = await submit(js, "fmct-needs", {"network": "case33bw"})
            assert isinstance(await wait_terminal(js, after, timeout_s=60), JobCompleted)
            history = await events(js, job)
        finally:
            await runner.stop()
    assert history[-1] == cancel
    assert not any(isinstance(e, JobCompleted | JobFailed) for e in history)
    progress = [e.progress for e in history if isinstance(e, JobRunning)]
    assert progress == sorted(progress)


async def test_a_redelivered_finished_job_is_acked_unrun(tmp_path: Path) -> None:
    """A worker published JobCompleted, then died before its ack: the next one must not re-run."""
    async with nats_link(tmp_path) as (_, nc, js):
        job = new_job_id()
        done = JobCompleted(
            job_id=job, at=datetime.now(UTC), output=msgspec.Raw(b"{}"), worker="w0"
        )
        await js.publish(subjects.job_events(job), msgspec.json.encode(done))
        runner = EngineRunner(nc, Registry([EchoEngine()]), in_process=True)
        await runner.start()
        try:
            await submit(js, "echo", {"text": "again"}, job_id=job)
            await wait_terminal(js, await submit(js, "echo", {"text": "next"}))
        finally:
            await runner.stop()
        assert await jobs_left(js) == 0
        assert await events(js, job) == [done]
    assert runner.completed == 1


@pytest.mark.unit
def test_registry_from_entry_points_and_unknown_kinds() -> None:
    registry = Registry.from_entry_points()
    assert {"echo", "fmct-needs"} <= set(registry.kinds())
    with pytest.raises(UnknownEngineError, match=r"no engine of kind 'nope'; known kinds: ") as got:
        registry.get("nope")
    assert {"echo", "fmct-needs"} <= set(got.value.known)
    with pytest.raises(UnknownEngineError, match="'nope'; known kinds: ") as got:
        Registry.from_entry_points(["echo", "nope"])
    assert got.value.known == sorted(registry.kinds())  # every declared kind is named
    assert Registry.from_entry_points(["echo"]).kinds() == ["echo"]
    with pytest.raises(ValueError, match="registered twice"):
        Registry([EchoEngine(), EchoEngine()])

"""Engine workers as real processes (`python -m engines.worker_main`), one killed with SIGKILL
mid-job: the job completes exactly once, on the other worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from gateway.messages.events import JobCompleted, JobFailed, JobRunning
from tests.engines._runtime import events, jobs_left, nats_link, submit, wait_terminal
from tests.engines.test_runtime import long_day

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@contextmanager
def workers(url: str, *extra: str, count: int = 2) -> Iterator[dict[str, subprocess.Popen[str]]]:
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        for i in range(count):
            worker_id = f"worker-{i}"
            procs[worker_id] = subprocess.Popen(
                [
                    *(sys.executable, "-m", "engines.worker_main", "--nats-url", url),
                    *("--kind", "fmct-needs", "--worker-id", worker_id, "--ack-wait", "2"),
                    *extra,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                # Its own process group: SIGKILL to the group takes the worker and its engine
                # process together, as losing the machine or the container would.
                start_new_session=True,
            )
        for proc in procs.values():
            assert proc.stdout is not None
            assert proc.stdout.readline().startswith("ready "), "worker did not start"
        yield procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


async def running_worker(js: JetStreamContext, job: str) -> JobRunning:
    for _ in range(400):
        started = [e for e in await events(js, job) if isinstance(e, JobRunning)]
        if started and started[-1].progress > 0:
            return started[-1]
        await asyncio.sleep(0.025)
    raise AssertionError("no worker took the job")


async def test_job_completes_exactly_once_after_its_worker_is_killed(tmp_path: Path) -> None:
    async with nats_link(tmp_path) as (url, _, js):
        with workers(url) as procs:
            job = await submit(js, "fmct-needs", long_day(60))
            victim = (await running_worker(js, job)).worker
            # The worker alone: its orphaned engine process must not publish anything (it has
            # no NATS link) and ends at its next progress report, on the broken pipe.
            os.kill(procs[victim].pid, signal.SIGKILL)
            final = await wait_terminal(js, job, timeout_s=60)
            await asyncio.sleep(0.5)  # room for a (wrong) second completion to show up
            history = await events(js, job)
            assert await jobs_left(js) == 0
    assert isinstance(final, JobCompleted)
    assert final.worker != victim
    assert final.attempt == 2
    assert sum(isinstance(e, JobCompleted) for e in history) == 1
    assert {e.worker for e in history if isinstance(e, JobRunning)} == set(procs)


async def test_a_job_whose_workers_all_die_is_dead_lettered(tmp_path: Path) -> None:
    async with nats_link(tmp_path) as (url, _, js):
        with workers(url, "--max-attempts", "1") as procs:
            job = await submit(js, "fmct-needs", long_day(60))
            victim = (await running_worker(js, job)).worker
            os.killpg(procs[victim].pid, signal.SIGKILL)
            final = await wait_terminal(js, job, timeout_s=30)
            assert await jobs_left(js) == 0
    assert isinstance(final, JobFailed)
    assert (final.dead_lettered, final.attempt, final.problem.status) == (True, 1, 500)
    assert "stopped before reporting" in (final.problem.detail or "")

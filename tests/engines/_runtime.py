"""Helpers for the engine-runtime tests: a real nats-server per test, job submission, and the
events of a job read back from the ATP_EVENTS stream (what the gateway would store)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from engines.base import ProgressFn
from engines.echo import EchoInput, EchoOutput
from gateway.messages import subjects
from gateway.messages.events import JobCancelled, JobCompleted, JobEvent, JobFailed, JobRequest
from gateway.messaging.embedded import NatsServer
from gateway.messaging.streams import ensure_streams

EVENT = msgspec.json.Decoder(JobEvent)


@asynccontextmanager
async def nats_link(tmp_path: Path) -> AsyncIterator[tuple[str, Client, JetStreamContext]]:
    server = NatsServer(store_dir=tmp_path / "nats")
    url = await asyncio.to_thread(server.start)
    nc = await nats.connect(url)
    js = nc.jetstream(timeout=10)
    await ensure_streams(js)
    try:
        yield url, nc, js
    finally:
        await nc.close()
        await asyncio.to_thread(server.stop)


def new_job_id() -> str:
    return f"job-{uuid.uuid4().hex[:12]}"


async def submit(js: JetStreamContext, kind: str, data: Any, job_id: str | None = None) -> str:
    """Publish a JobRequest as the gateway's outbox relay does (Nats-Msg-Id = job id)."""
    job_id = job_id or new_job_id()
    request = JobRequest(
        job_id=job_id,
        kind=kind,
        owner_id="dso-1",
        submitted_at=datetime.now(UTC),
        input=msgspec.Raw(msgspec.json.encode(data)),
    )
    await js.publish(
        subjects.job_queue(kind), msgspec.json.encode(request), headers={"Nats-Msg-Id": job_id}
    )
    return job_id


async def events(js: JetStreamContext, job_id: str) -> list[JobEvent]:
    """Every event of a job stored in ATP_EVENTS, in order."""
    sub = await js.pull_subscribe(
        subjects.job_events(job_id),
        stream=subjects.EVENTS_STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL),
    )
    info = await sub.consumer_info()
    out: list[JobEvent] = []
    remaining = info.num_pending or 0
    while remaining > 0:
        batch = await sub.fetch(batch=remaining, timeout=2)
        out += [EVENT.decode(m.data) for m in batch]
        remaining -= len(batch)
    await sub.unsubscribe()
    return out


def terminal(event: JobEvent) -> bool:
    return isinstance(event, JobCompleted | JobCancelled) or (
        isinstance(event, JobFailed) and event.dead_lettered
    )


async def wait_terminal(js: JetStreamContext, job_id: str, timeout_s: float = 30.0) -> JobEvent:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            last = await js.get_last_msg(subjects.EVENTS_STREAM, subjects.job_events(job_id))
        except NotFoundError:
            pass
        else:
            event: JobEvent = EVENT.decode(last.data or b"")
            if terminal(event):
                return event
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish within {timeout_s} s")


async def jobs_left(js: JetStreamContext) -> int:
    return int((await js.stream_info(subjects.JOBS_STREAM)).state.messages)


class RaisingEngine:
    """A test-only engine with a bug: it always raises."""

    kind = "raises"
    input_type = EchoInput
    output_type = EchoOutput

    def run(self, data: EchoInput, progress: ProgressFn) -> EchoOutput:
        raise ZeroDivisionError(f"bug on {data.text}")


class DyingEngine:
    """A test-only engine whose process dies under it (as the OOM killer would do)."""

    kind = "dies"
    input_type = EchoInput
    output_type = EchoOutput

    def run(self, data: EchoInput, progress: ProgressFn) -> EchoOutput:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")

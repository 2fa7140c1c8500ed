"""Serves engines as JetStream pull consumers: one durable consumer per kind (`engine-<kind>`)
shared by every worker process on every machine, so they share the load.

The order of operations is the contract the gateway's job-event consumer relies on:
1. A job whose last event is terminal (completed, dead-lettered, cancelled) is acked unrun:
   that is a redelivery after a worker died between publishing its result and acking.
2. JobRunning (worker, attempt) is published before the engine starts, then progress.
3. JobCompleted is published and acknowledged by JetStream before the job message is acked.
   Its `Nats-Msg-Id` is `<job_id>.final`, shared with the dead-letter JobFailed, so JetStream
   stores at most one terminal event per job inside the duplicate window even if two workers
   finish the same job (a worker stalled past ack_wait and the one that got the redelivery).
4. An engine exception is published as JobFailed (attempt n) and the job is redelivered after
   `retry_delay_s`; on the last attempt JobFailed(dead_lettered=True) and the message is
   terminated. A worker that dies mid-job acks nothing: JetStream redelivers after ack_wait, and
   a delivery past `max_attempts` is dead-lettered without running (`max_deliver` is one more
   than `max_attempts` for that).
5. A JobCancelled on the job's subject stops a running job (its process is killed) and the job
   is acked without a result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError, NotFoundError

from engines import problems
from engines.base import AnyEngine
from engines.deadletter import dead_letter_subject, ensure_dead_letter_stream
from engines.execution import Crashed, Done, Invalid, ProcessSlot, Slot, ThreadSlot
from engines.registry import Registry
from gateway.messages import subjects
from gateway.messages.events import (
    JobCancelled,
    JobCompleted,
    JobEvent,
    JobFailed,
    JobRequest,
    JobRunning,
)
from gateway.messages.problems import ProblemDetails
from gateway.messaging.streams import ensure_streams

log = logging.getLogger("flexgrid.engines")

_REQUEST = msgspec.json.Decoder(JobRequest)
_EVENT = msgspec.json.Decoder(JobEvent)
_ENCODER = msgspec.json.Encoder()
# Errors of a NATS link that is reconnecting: worth a retry, not a crash of the worker.
_WRONG_LAST_SEQUENCE = 10071  # JetStream: the subject has a newer message than expected
_TRANSIENT = (nats.errors.TimeoutError, nats.errors.ConnectionClosedError, TimeoutError, OSError)


def consumer_name(kind: str) -> str:
    return f"engine-{kind}"


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _finished(event: JobEvent | None) -> bool:
    match event:
        case JobCompleted() | JobCancelled() | JobFailed(dead_lettered=True):
            return True
    return False


class EngineRunner:
    """Serves `kinds` of `registry` (all of them by default) until `stop()`.

    `concurrency` jobs of each kind at once; each runs in its own worker process
    (`in_process=False`, spawn) or in a thread of this process (`in_process=True`, the
    embedded default: no spawn cost, but a cancelled job's thread runs on to its end).
    """

    def __init__(
        self,
        nc: Client,
        registry: Registry,
        kinds: Iterable[str] | None = None,
        *,
        max_attempts: int = 3,
        ack_wait_s: float = 30.0,
        retry_delay_s: float = 1.0,
        concurrency: int = 1,
        in_process: bool = False,
        worker_id: str | None = None,
        stream_replicas: int = 1,
        fetch_timeout_s: float = 5.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream(timeout=10)
        self._engines: dict[str, AnyEngine] = {
            kind: registry.get(kind) for kind in (registry.kinds() if kinds is None else kinds)
        }
        self.max_attempts = max_attempts
        self._ack_wait_s = ack_wait_s
        self._retry_delay_s = retry_delay_s
        self._concurrency = concurrency
        self._in_process = in_process
        self.worker_id = worker_id or default_worker_id()
        self._replicas = stream_replicas
        self._fetch_timeout_s = fetch_timeout_s
        self._slots: list[Slot] = []
        self._loops: list[asyncio.Task[None]] = []
        self._busy: set[asyncio.Task[None]] = set()
        self._subs: list[Any] = []
        self._stopping = False
        self.completed = 0

    @property
    def kinds(self) -> list[str]:
        return sorted(self._engines)

    async def start(self) -> None:
        await ensure_streams(self._js, replicas=self._replicas)
        await ensure_dead_letter_stream(self._js, replicas=self._replicas)
        for kind in self._engines:
            for _ in range(self._concurrency):
                slot: Slot = (
                    ThreadSlot(self._engines) if self._in_process else ProcessSlot(self._engines)
                )
                slot.start()
                self._slots.append(slot)
                # One pull subscription per slot: concurrent fetches on one subscription
                # could take each other's messages and leave one waiting past ack_wait.
                sub = await self._js.pull_subscribe(
                    subjects.job_queue(kind),
                    durable=consumer_name(kind),
                    stream=subjects.JOBS_STREAM,
                    config=ConsumerConfig(
                        ack_policy=AckPolicy.EXPLICIT,
                        deliver_policy=DeliverPolicy.ALL,
                        ack_wait=self._ack_wait_s,
                        max_deliver=self.max_attempts + 1,
                        max_ack_pending=10_000,
                    ),
                )
                self._subs.append(sub)
                # The consumer may have been created by another worker with other settings:
                # heartbeats follow the server's ack_wait, not ours.
                info = await self._js.consumer_info(subjects.JOBS_STREAM, consumer_name(kind))
                ack_wait = float(info.config.ack_wait or self._ack_wait_s)
                self._loops.append(
                    asyncio.create_task(
                        self._serve(kind, slot, sub, ack_wait), name=f"engine-{kind}"
                    )
                )
        log.info("worker %s serving %s", self.worker_id, ", ".join(self.kinds))

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop taking jobs; let running ones finish for `grace_s`, then abandon them (they are
        not acked, so JetStream hands them to another worker)."""
        self._stopping = True  # a loop finishing its job must not fetch another one
        idle = [t for t in self._loops if t not in self._busy]
        for task in idle:
            task.cancel()
        busy = [t for t in self._loops if t in self._busy]
        if busy:
            _, pending = await asyncio.wait(busy, timeout=grace_s)
            for task in pending:
                task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for sub in self._subs:
            with contextlib.suppress(Exception):  # the connection may be gone already
                await sub.unsubscribe()
        for slot in self._slots:
            slot.close()
        self._loops.clear()
        self._subs.clear()
        self._slots.clear()

    async def _serve(self, kind: str, slot: Slot, sub: Any, ack_wait_s: float) -> None:
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - always inside a task
        while not self._stopping:
            try:
                msgs = await sub.fetch(batch=1, timeout=self._fetch_timeout_s)
            except _TRANSIENT:
                continue  # no job within the timeout, or NATS reconnecting: ask again
            except nats.errors.Error:
                log.warning("fetching %s jobs failed", kind, exc_info=True)
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                self._busy.add(task)
                try:
                    await self._handle(kind, slot, msg, ack_wait_s)
                except asyncio.CancelledError:
                    # Shutting down mid-job: hand the job back now rather than after ack_wait.
                    with contextlib.suppress(Exception):
                        await asyncio.shield(msg.nak())
                    raise
                except Exception:  # a bug here must not kill the worker; the job is redelivered
                    log.exception("handling a %s job failed", kind)
                finally:
                    self._busy.discard(task)

    async def _handle(self, kind: str, slot: Slot, msg: Msg, ack_wait_s: float) -> None:
        attempt = int(msg.metadata.num_delivered or 1)
        try:
            request = _REQUEST.decode(msg.data)
        except msgspec.DecodeError as exc:
            # No job id to report on: keep the bytes for inspection and drop the message.
            log.error("undecodable JobRequest on %s dead-lettered: %s", msg.subject, exc)
            await self._js.publish(dead_letter_subject(kind), msg.data)
            await msg.term()
            return
        cancelled = asyncio.Event()

        async def on_event(event_msg: Msg) -> None:
            if b'"cancelled"' in event_msg.data:
                with contextlib.suppress(msgspec.DecodeError):
                    if isinstance(_EVENT.decode(event_msg.data), JobCancelled):
                        cancelled.set()

        # Subscribed before the look-up below, so a cancel cannot fall between the two.
        watch = await self._nc.subscribe(subjects.job_events(request.job_id), cb=on_event)
        try:
            if _finished(await self._last_event(request.job_id)):
                await msg.ack_sync()
                return
            if attempt > self.max_attempts:
                await self._dead_letter(
                    request, msg, attempt - 1, problems.workers_lost(kind, attempt - 1)
                )
                return
            await self._run(kind, slot, msg, request, attempt, ack_wait_s, cancelled)
        finally:
            with contextlib.suppress(Exception):
                await watch.unsubscribe()

    async def _run(
        self,
        kind: str,
        slot: Slot,
        msg: Msg,
        request: JobRequest,
        attempt: int,
        ack_wait_s: float,
        cancelled: asyncio.Event,
    ) -> None:
        job_id = request.job_id
        last_sequence = await self._publish(
            JobRunning(
                job_id=job_id,
                at=_now(),
                progress=0.0,
                stage="started",
                worker=self.worker_id,
                attempt=attempt,
            ),
            f"{job_id}.running.{attempt}.0",
        )
        latest: list[tuple[float, str]] = []
        work = asyncio.create_task(
            slot.run(kind, bytes(request.input), lambda f, s: latest.append((f, s)))
        )
        cancel = asyncio.create_task(cancelled.wait())
        heartbeat_s = max(ack_wait_s / 3.0, 0.1)
        last_beat = time.monotonic()
        sent = 0
        try:
            while not work.done() and not cancelled.is_set():
                # The first report goes out at once (a short job still shows it moved), later
                # ones at most every 0.25 s.
                await asyncio.wait(
                    {work, cancel}, timeout=0.25 if sent else 0.02, return_when="FIRST_COMPLETED"
                )
                if latest and not work.done() and last_sequence is not None:
                    # Only the newest progress is worth an event; older ones are stale now.
                    fraction, stage = latest[-1]
                    latest.clear()
                    sent += 1
                    # Conditional on being the job's last event: once a cancel is stored (even
                    # if not yet delivered here) no progress may follow it.
                    last_sequence = await self._publish(
                        JobRunning(
                            job_id=job_id,
                            at=_now(),
                            progress=fraction,
                            stage=stage,
                            worker=self.worker_id,
                            attempt=attempt,
                        ),
                        f"{job_id}.running.{attempt}.{sent}",
                        after_sequence=last_sequence,
                    )
                if time.monotonic() - last_beat >= heartbeat_s:
                    # Long jobs: tell JetStream we are alive so it does not redeliver.
                    await msg.in_progress()
                    last_beat = time.monotonic()
        finally:
            cancel.cancel()
            if not work.done():
                work.cancel()  # cancelled job or shutdown: the slot kills its process
                with contextlib.suppress(asyncio.CancelledError):
                    await work
        if cancelled.is_set():
            # Abandoned; also when it finished at the moment the cancel came: the cancel wins.
            await msg.ack_sync()
            return
        match work.result():
            case Done(output=output):
                await self._publish(
                    JobCompleted(
                        job_id=job_id,
                        at=_now(),
                        output=msgspec.Raw(output),
                        worker=self.worker_id,
                        attempt=attempt,
                    ),
                    f"{job_id}.final",
                )
                await msg.ack_sync()
                self.completed += 1
            case Invalid(message=message):
                await self._dead_letter(request, msg, attempt, problems.invalid_input(message))
            case Crashed(error=error, detail=detail):
                log.error(
                    "%s job %s attempt %d failed: %s\n%s", kind, job_id, attempt, error, detail
                )
                problem = problems.engine_error(kind, error, attempt)
                if attempt >= self.max_attempts:
                    await self._dead_letter(request, msg, attempt, problem)
                    return
                await self._publish(
                    JobFailed(job_id=job_id, at=_now(), problem=problem, attempt=attempt),
                    f"{job_id}.failed.{attempt}",
                )
                await msg.nak(delay=self._retry_delay_s)

    async def _dead_letter(
        self, request: JobRequest, msg: Msg, attempt: int, problem: ProblemDetails
    ) -> None:
        # The copy first: a crash after it and before the JobFailed re-runs this on redelivery,
        # and both publishes are deduplicated by their ids.
        await self._js.publish(
            dead_letter_subject(request.kind),
            msg.data,
            headers={"Nats-Msg-Id": request.job_id},
        )
        await self._publish(
            JobFailed(
                job_id=request.job_id,
                at=_now(),
                problem=problem,
                attempt=attempt,
                dead_lettered=True,
            ),
            f"{request.job_id}.final",
        )
        await msg.term()

    async def _last_event(self, job_id: str) -> JobEvent | None:
        try:
            last = await self._js.get_last_msg(subjects.EVENTS_STREAM, subjects.job_events(job_id))
        except NotFoundError:
            return None
        if last.data is None:
            return None
        try:
            event: JobEvent = _EVENT.decode(last.data)
        except msgspec.DecodeError:
            return None
        return event

    async def _publish(
        self, event: JobEvent, msg_id: str, *, after_sequence: int | None = None
    ) -> int | None:
        """Publish and wait for JetStream's ack; a few retries ride out a reconnect. Returns the
        event's sequence on the job's subject. With `after_sequence` the event is only stored if
        nothing else was written to the job's events since that sequence (JetStream checks it):
        None when something was, e.g. a cancel this runner has not received yet."""
        payload = _ENCODER.encode(event)
        headers = {"Nats-Msg-Id": msg_id}
        if after_sequence is not None:
            headers["Nats-Expected-Last-Subject-Sequence"] = str(after_sequence)
        for delay in (0.2, 0.5, 1.0, 2.0, 0.0):
            try:
                ack = await self._js.publish(
                    subjects.job_events(event.job_id), payload, headers=headers
                )
                return int(ack.seq)
            except APIError as exc:
                if after_sequence is not None and exc.err_code == _WRONG_LAST_SEQUENCE:
                    return None
                raise
            except _TRANSIENT:
                if not delay:
                    raise
                await asyncio.sleep(delay)
        return None

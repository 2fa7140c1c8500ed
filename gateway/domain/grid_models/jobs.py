"""Large uploads as `cim-import` jobs, run by the gateway itself.

Why the gateway and not an engine worker: the upload is up to `max_upload_bytes` (64 MiB by
default), far above NATS's default 1 MiB message size, and the result must be written into the
gateway's own tables together with the zone's nodes. So the engines stay pure and NATS carries
only what it carries for every job: the events.

How it survives a restart without losing the upload or storing half a model:
1. Accept (one transaction): the job row (`accepted`), the upload itself in
   `grid_model_upload`, and a `JobAccepted` event in the outbox. Only then the 202 answer.
2. Run: the import runs in the model runner (a worker process by default); progress becomes
   `JobRunning` events (outbox, so they reach `atp.v1.events.jobs.<id>` and the SSE stream) and
   the job row's progress.
3. Finish (one transaction): the model version, the zone's nodes, the job row `completed` with
   a `JobCompleted` event, and the pending upload deleted. A rejected model instead marks the
   job `failed` (the same problem details a small upload gets) and deletes the upload.
A gateway that stops anywhere before step 3 commits leaves the pending upload in place; every
gateway scans the pending uploads at start-up (and every `poll_s`) and runs them again, with the
attempt number raised. Two replicas that pick the same upload both import it, but step 3 deletes
the pending row first: the second finds it gone and stores nothing. A job cancelled over
`DELETE /v1/jobs/{id}` stores nothing and drops its upload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.auth.caller import Caller
from gateway.db.database import Database
from gateway.db.tables import job, outbox
from gateway.domain.clock import Clock, new_id
from gateway.domain.grid_models import store
from gateway.domain.grid_models.outcome import (
    archive_decoder,
    archive_encoder,
    check_storable,
    problem_of,
    store_imported,
)
from gateway.domain.grid_models.runner import ModelRunner
from gateway.domain.grid_models.upload import Upload
from gateway.domain.grid_models.work import Imported, Rejected
from gateway.errors import GatewayError
from gateway.messages import subjects
from gateway.messages.events import JobAccepted, JobCompleted, JobFailed, JobRunning
from gateway.messages.grid_models import ImportJobOutput, ModelSummary, UploadedFile
from gateway.messages.jobs import Job, JobStatus
from gateway.messages.problems import ProblemDetails

KIND = "cim-import"
log = logging.getLogger("flexgrid.grid_models")
_OPEN = (JobStatus.ACCEPTED.value, JobStatus.RUNNING.value)
_MAX_ATTEMPTS = 3
_PROGRESS_EVERY_S = 0.25
JobEventOut = JobAccepted | JobRunning | JobCompleted | JobFailed


class ImportJobInput(msgspec.Struct, frozen=True, kw_only=True):
    """What the job row shows as its input (the files themselves wait in grid_model_upload)."""

    zone_id: str
    name: str
    files: tuple[UploadedFile, ...]


class ImportJobs:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        runner: ModelRunner,
        on_commit: Callable[[], None],
        poll_s: float = 5.0,
    ) -> None:
        self._db = db
        self._clock = clock
        self._runner = runner
        self._on_commit = on_commit
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- accept ---------------------------------------------------------------------------
    async def accept(self, caller: Caller, zone_id: str, upload: Upload) -> Job:
        now = self._clock()
        job_id = new_id()
        description = ImportJobInput(zone_id=zone_id, name=upload.name, files=upload.files)
        async with self._db.begin() as conn:
            await conn.execute(
                insert(job).values(
                    id=job_id,
                    kind=KIND,
                    owner_id=caller.participant_id,
                    status=JobStatus.ACCEPTED.value,
                    progress=0.0,
                    message="",
                    attempt=0,
                    input=msgspec.json.encode(description).decode(),
                    created_at=now,
                    updated_at=now,
                )
            )
            await store.insert_pending_upload(
                conn,
                store.PendingUpload(
                    job_id=job_id,
                    zone_id=zone_id,
                    uploaded_by=caller.participant_id,
                    name=upload.name,
                    created_at=now,
                    archive=archive_encoder.encode(upload),
                ),
            )
            await _event(conn, job_id, "accepted", JobAccepted(job_id=job_id, at=now))
        self._on_commit()
        self._wake.set()
        return Job(
            id=job_id,
            kind=KIND,
            owner_id=caller.participant_id,
            status=JobStatus.ACCEPTED,
            created_at=now,
            updated_at=now,
        )

    # --- the runner loop ------------------------------------------------------------------
    async def start(self) -> None:
        self._wake.set()  # resume what a previous run left pending
        self._task = asyncio.create_task(self._loop(), name="grid-model-imports")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)
            self._wake.clear()
            try:
                async with self._db.connect() as conn:
                    pending = await store.pending_job_ids(conn)
                for job_id in pending:
                    await self.run(job_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away for a moment: the next round retries
                log.exception("grid-model import round failed")

    async def run(self, job_id: str) -> None:
        """Run one pending import to its end (public for tests that drive it directly)."""
        async with self._db.connect() as conn:
            pending = await store.pending_upload(conn, job_id)
            row = (
                await conn.execute(select(job.c.status, job.c.attempt).where(job.c.id == job_id))
            ).first()
        if pending is None or row is None:
            return
        if row[0] not in _OPEN:
            async with self._db.begin() as conn:  # cancelled meanwhile: drop the upload
                await store.delete_pending_upload(conn, job_id)
            return
        attempt = int(row[1]) + 1
        if attempt > _MAX_ATTEMPTS:
            await self._fail(job_id, attempt - 1, _crashed(job_id, attempt - 1))
            return
        upload = archive_decoder.decode(pending.archive)
        reporter = _ProgressWriter(self, job_id, attempt)
        await reporter.write(0.0, "started")
        try:
            outcome = await self._runner.run_import(upload.parts, upload.name, reporter.note)
        except GatewayError:  # the worker process died; the next round tries again
            log.exception("import job %s attempt %d crashed", job_id, attempt)
            return
        finally:
            await reporter.stop()
        if isinstance(outcome, Imported):
            outcome = check_storable(outcome) or outcome
        if isinstance(outcome, Rejected):
            problem = problem_of(outcome, f"/v1/jobs/{job_id}")
            await self._fail(job_id, attempt, problem)
            return
        await self._complete(job_id, attempt, pending, upload, outcome)

    async def _complete(
        self,
        job_id: str,
        attempt: int,
        pending: store.PendingUpload,
        upload: Upload,
        imported: Imported,
    ) -> None:
        for _ in range(5):
            try:
                async with self._db.begin() as conn:
                    status = (
                        await conn.execute(
                            select(job.c.status).where(job.c.id == job_id).with_for_update()
                        )
                    ).scalar_one_or_none()
                    if await store.delete_pending_upload(conn, job_id) == 0:
                        return  # another gateway finished it
                    if status not in _OPEN:
                        return  # cancelled: commit only the upload's removal
                    now = self._clock()
                    version, changes = await store_imported(
                        conn,
                        zone_id=pending.zone_id,
                        uploaded_by=pending.uploaded_by,
                        upload=upload,
                        imported=imported,
                        created_at=now,
                        job_id=job_id,
                    )
                    output = ImportJobOutput(
                        zone_id=pending.zone_id,
                        version=version,
                        model_url=f"/v1/grid-zones/{pending.zone_id}/models/{version}",
                        summary=msgspec.json.decode(imported.summary_json, type=ModelSummary),
                        nodes=changes,
                    )
                    encoded = msgspec.json.encode(output)
                    await conn.execute(
                        update(job)
                        .where(job.c.id == job_id)
                        .values(
                            status=JobStatus.COMPLETED.value,
                            progress=1.0,
                            message="completed",
                            attempt=attempt,
                            output=encoded.decode(),
                            updated_at=now,
                        )
                    )
                    event = JobCompleted(
                        job_id=job_id, at=now, output=msgspec.Raw(encoded), attempt=attempt
                    )
                    await _event(conn, job_id, "completed", event)
                break
            except IntegrityError:
                continue  # a concurrent upload took the version number: number again
        else:
            await self._fail(job_id, attempt, _collided(job_id))
            return
        self._on_commit()

    async def _fail(self, job_id: str, attempt: int, problem: ProblemDetails) -> None:
        now = self._clock()
        async with self._db.begin() as conn:
            await store.delete_pending_upload(conn, job_id)
            changed = await conn.execute(
                update(job)
                .where(job.c.id == job_id, job.c.status.in_(_OPEN))
                .values(
                    status=JobStatus.FAILED.value,
                    problem=msgspec.json.encode(problem).decode(),
                    message=(problem.detail or problem.title)[:1000],
                    attempt=attempt,
                    updated_at=now,
                )
            )
            if changed.rowcount:
                event = JobFailed(
                    job_id=job_id, at=now, problem=problem, attempt=attempt, dead_lettered=True
                )
                await _event(conn, job_id, "failed", event)
        self._on_commit()

    async def _progress(
        self, job_id: str, attempt: int, n: int, fraction: float, stage: str
    ) -> None:
        now = self._clock()
        async with self._db.begin() as conn:
            await conn.execute(
                update(job)
                .where(job.c.id == job_id, job.c.status.in_(_OPEN), job.c.progress <= fraction)
                .values(
                    status=JobStatus.RUNNING.value,
                    progress=fraction,
                    message=stage,
                    attempt=attempt,
                    updated_at=now,
                )
            )
            event = JobRunning(
                job_id=job_id, at=now, progress=fraction, stage=stage, attempt=attempt
            )
            await _event(conn, job_id, f"a{attempt}.p{n}", event)
        self._on_commit()


class _ProgressWriter:
    """Collects the importer's progress calls and writes at most one event per interval."""

    def __init__(self, jobs: ImportJobs, job_id: str, attempt: int) -> None:
        self._jobs = jobs
        self._job_id = job_id
        self._attempt = attempt
        self._count = 0
        self._latest: tuple[float, str] | None = None
        self._task = asyncio.create_task(self._tick(), name=f"import-progress-{job_id}")

    def note(self, fraction: float, stage: str) -> None:
        self._latest = (min(max(fraction, 0.0), 1.0), stage[:200])

    async def write(self, fraction: float, stage: str) -> None:
        self._count += 1
        await self._jobs._progress(self._job_id, self._attempt, self._count, fraction, stage)

    async def _flush(self) -> None:
        if self._latest is not None:
            latest, self._latest = self._latest, None
            await self.write(*latest)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(_PROGRESS_EVERY_S)
            try:
                await self._flush()
            except Exception:  # progress is informative; the import goes on without it
                log.warning("writing import progress failed", exc_info=True)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        with contextlib.suppress(Exception):
            await self._flush()


def _collided(job_id: str) -> ProblemDetails:
    return ProblemDetails(
        type="https://flexgrid-atp.org/problems/conflict",
        title="Conflict with the current state",
        status=409,
        detail="uploads to this zone kept colliding; upload again",
        instance=f"/v1/jobs/{job_id}",
    )


def _crashed(job_id: str, attempts: int) -> ProblemDetails:
    return ProblemDetails(
        type="https://flexgrid-atp.org/problems/import-crashed",
        title="The import did not finish",
        status=500,
        detail=f"the import worker stopped during each of {attempts} attempts",
        instance=f"/v1/jobs/{job_id}",
    )


async def _event(conn: AsyncConnection, job_id: str, suffix: str, event: JobEventOut) -> None:
    """Into the outbox: the relay publishes it with `Nats-Msg-Id` = the row's id."""
    await conn.execute(
        insert(outbox).values(
            id=f"job.{job_id}.{suffix}",
            subject=subjects.job_events(job_id),
            payload=msgspec.json.encode(event).decode(),
            created_at=event.at,
        )
    )

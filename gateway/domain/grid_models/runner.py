"""Where grid-model work runs: the port and its two implementations.

`ProcessRunner` (the default) runs imports and exports in a pool of worker processes, so the
web process's event loop never parses XML or solves a power flow, and cimpy and pandapower are
never imported by the gateway process itself. `ThreadRunner` runs the same functions in a
thread of the gateway process: for tests and single-user embedded use, where a worker process
per app is not worth its start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import queue as queue_module
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Protocol

from cim.reader import ReaderLimits
from gateway.domain.grid_models import work
from gateway.domain.grid_models.work import (
    CheckOutcome,
    ExportFormat,
    ImportOutcome,
    Part,
    Progress,
)
from gateway.errors import ServiceUnavailable

if TYPE_CHECKING:
    from gateway.domain.grid_models.work import ProgressQueue

log = logging.getLogger("flexgrid.grid_models")


class ModelRunner(Protocol):
    async def check(self, parts: Sequence[Part]) -> CheckOutcome: ...

    async def run_import(
        self, parts: Sequence[Part], name: str, progress: Progress | None = None
    ) -> ImportOutcome: ...

    async def export(self, model_json: bytes, fmt: ExportFormat, name: str) -> bytes: ...

    async def close(self) -> None: ...


class ThreadRunner:
    def __init__(self, limits: ReaderLimits) -> None:
        self._limits = limits

    async def check(self, parts: Sequence[Part]) -> CheckOutcome:
        return await asyncio.to_thread(work.check_upload, parts, self._limits)

    async def run_import(
        self, parts: Sequence[Part], name: str, progress: Progress | None = None
    ) -> ImportOutcome:
        loop = asyncio.get_running_loop()

        def report(fraction: float, stage: str) -> None:
            if progress is not None:
                loop.call_soon_threadsafe(progress, fraction, stage)

        return await asyncio.to_thread(work.import_upload, parts, self._limits, name, report)

    async def export(self, model_json: bytes, fmt: ExportFormat, name: str) -> bytes:
        return await asyncio.to_thread(work.export_model, model_json, fmt, name)

    async def close(self) -> None:
        return None


class ProcessRunner:
    """A process pool started on first use; a crashed worker (killed, out of memory) fails
    only the call it was running, and the next call gets a fresh pool."""

    def __init__(self, limits: ReaderLimits, workers: int) -> None:
        self._limits = limits
        self._workers = workers
        self._context = multiprocessing.get_context("spawn")
        self._queue: ProgressQueue = self._context.Queue()
        self._pool: ProcessPoolExecutor | None = None
        self._listeners: dict[str, Callable[[float, str], None]] = {}
        self._pump: asyncio.Task[None] | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=self._context,
                initializer=work.init_worker,
                initargs=(self._queue,),
            )
        return self._pool

    def _ensure_pump(self) -> None:
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._pump_progress(), name="grid-import-progress")

    async def _pump_progress(self) -> None:
        while True:
            try:
                item = await asyncio.to_thread(self._queue.get, True, 0.5)
            except queue_module.Empty:
                continue
            if item is None:  # close() asks the pump to end
                return
            token, fraction, stage = item
            listener = self._listeners.get(token)
            if listener is not None:
                listener(fraction, stage)

    async def _call(self, fn: Callable[..., bytes], *args: object) -> bytes:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), fn, *args)
        except BrokenProcessPool as exc:
            log.error("a grid-model worker process died; starting a new pool")
            broken, self._pool = self._pool, None
            if broken is not None:
                broken.shutdown(wait=False, cancel_futures=True)
            raise ServiceUnavailable("the import worker stopped unexpectedly; try again") from exc

    async def check(self, parts: Sequence[Part]) -> CheckOutcome:
        encoded = await self._call(work.check_in_worker, list(parts), self._limits)
        return work.check_decoder.decode(encoded)

    async def run_import(
        self, parts: Sequence[Part], name: str, progress: Progress | None = None
    ) -> ImportOutcome:
        token = uuid.uuid4().hex
        if progress is not None:
            self._listeners[token] = progress
            self._ensure_pump()
        try:
            encoded = await self._call(
                work.import_in_worker, token, list(parts), self._limits, name
            )
        finally:
            self._listeners.pop(token, None)
        return work.import_decoder.decode(encoded)

    async def export(self, model_json: bytes, fmt: ExportFormat, name: str) -> bytes:
        return await self._call(work.export_model, model_json, fmt, name)

    async def close(self) -> None:
        if self._pump is not None:
            self._queue.put(None)
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)
        self._queue.close()
        self._queue.join_thread()


def make_runner(limits: ReaderLimits, workers: int) -> ModelRunner:
    """`workers` processes; 0 runs the work in a thread of the gateway process instead."""
    return ProcessRunner(limits, workers) if workers > 0 else ThreadRunner(limits)

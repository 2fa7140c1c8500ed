"""Running one engine call off the event loop: in a worker process (the default) or a thread.

The runner's event loop only moves messages; the CPU-bound `Engine.run` happens here. A slot
runs one job at a time. A process slot can be killed mid-job (a cancelled job) and comes back
with a fresh process; a thread cannot be stopped, so a cancelled job in thread mode runs to
its end and its result is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import msgspec

from engines.base import AnyEngine

PROGRESS_INTERVAL_S = 0.25


@dataclass(frozen=True)
class Done:
    output: bytes  # the engine's output Struct as JSON


@dataclass(frozen=True)
class Invalid:
    """The job's input does not decode into the engine's input type: retrying cannot help."""

    message: str


@dataclass(frozen=True)
class Crashed:
    """The engine raised, or its process died: a bug, retried up to the attempt limit."""

    error: str
    detail: str


Outcome = Done | Invalid | Crashed
OnProgress = Callable[[float, str], None]


def execute(engine: AnyEngine, raw: bytes, progress: OnProgress) -> Outcome:
    """Decode, run, encode. Throttles progress so a chatty engine cannot flood the bus."""
    try:
        data = msgspec.json.decode(raw, type=engine.input_type)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        return Invalid(f"input of a {engine.kind} job: {exc}")
    last = 0.0

    def throttled(fraction: float, stage: str) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_INTERVAL_S:
            last = now
            progress(min(max(float(fraction), 0.0), 1.0), str(stage)[:200])

    try:
        out = engine.run(data, throttled)
        if not isinstance(out, engine.output_type):
            raise TypeError(
                f"{engine.kind} returned {type(out).__name__}, not {engine.output_type.__name__}"
            )
        return Done(msgspec.json.encode(out))
    except Exception as exc:  # any exception from engine code is a bug: report, do not die
        return Crashed(f"{type(exc).__name__}: {exc}"[:1000], traceback.format_exc()[-4000:])


def _child_main(conn: Connection, engines: Mapping[str, AnyEngine]) -> None:
    # Ctrl-C in the worker's terminal reaches the whole process group: the parent decides
    # when its children stop (it kills them after the grace period).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            kind, raw = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        outcome = execute(
            engines[kind], raw, lambda fraction, stage: conn.send(("progress", fraction, stage))
        )
        conn.send(("outcome", outcome))


class ProcessSlot:
    """One worker process (spawn context) that runs jobs one after another."""

    def __init__(self, engines: Mapping[str, AnyEngine]) -> None:
        self._engines = dict(engines)
        self._ctx = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._conn: Connection | None = None

    def start(self) -> None:
        """Spawn now, so the engine's imports (pandapower...) happen before the first job."""
        parent, child = self._ctx.Pipe()
        self._process = self._ctx.Process(
            target=_child_main, args=(child, self._engines), name="flexgrid-engine", daemon=True
        )
        self._process.start()
        child.close()
        self._conn = parent

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def run(self, kind: str, raw: bytes, on_progress: OnProgress) -> Outcome:
        if self._process is None or not self._process.is_alive() or self._conn is None:
            self.kill()
            self.start()
        conn = self._conn
        assert conn is not None  # noqa: S101 - set by start()
        try:
            conn.send((kind, raw))
            while True:
                message = await asyncio.to_thread(conn.recv)
                if message[0] == "progress":
                    on_progress(message[1], message[2])
                else:
                    outcome: Outcome = message[1]
                    return outcome
        except (EOFError, OSError, BrokenPipeError):
            # The process died under the job (segfault, OOM killer): an attempt that failed.
            code = None
            if self._process is not None:
                self._process.join(2)  # the pipe closes a moment before the exit is reaped
                code = self._process.exitcode
            self.kill()
            return Crashed(f"engine process died (exit code {code})", "")
        except asyncio.CancelledError:
            # Abandoned (cancelled job or shutdown): the process is mid-job, so it goes.
            self.kill()
            raise

    def kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        self._process = None
        self._conn = None

    def close(self) -> None:
        self.kill()


class ThreadSlot:
    """The embedded mode: the job runs in a thread of this process (no spawn cost)."""

    def __init__(self, engines: Mapping[str, AnyEngine]) -> None:
        self._engines = dict(engines)

    def start(self) -> None:
        pass

    async def run(self, kind: str, raw: bytes, on_progress: OnProgress) -> Outcome:
        loop = asyncio.get_running_loop()

        def progress(fraction: float, stage: str) -> None:
            loop.call_soon_threadsafe(on_progress, fraction, stage)

        return await asyncio.to_thread(execute, self._engines[kind], raw, progress)

    def close(self) -> None:
        pass


Slot = ProcessSlot | ThreadSlot

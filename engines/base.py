"""The engine port: what every pluggable engine (fmct, afat, fst, forecast) satisfies.

An engine is pure: plain data in, a result Struct out, no NATS, no database, no clock. The
runner (`engines.runner`) owns everything around it: decoding the job's input, running it off
the event loop (a worker process, or a thread in the embedded mode), heartbeats, progress
events, retries and dead-lettering.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

InT = TypeVar("InT")
OutT = TypeVar("OutT")

ProgressFn = Callable[[float, str], None]
"""`progress(fraction, stage)`: fraction in [0, 1]; cheap to call, the runner throttles it."""


@runtime_checkable
class Engine(Protocol[InT, OutT]):
    """One kind of work. Outcomes are values: an infeasible or non-converged case is part of
    `OutT` (a status field), never an exception. An exception is a bug or a broken contract:
    the runner retries it and dead-letters the job after the last attempt.

    Instances cross a process boundary (pickled into worker processes), so keep them small:
    configuration only, no open handles.
    """

    kind: str
    input_type: type[InT]
    output_type: type[OutT]

    def run(self, data: InT, progress: ProgressFn) -> OutT: ...


AnyEngine = Engine[Any, Any]

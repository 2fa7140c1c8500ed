"""The problems a job can end with (RFC 9457 bodies carried by JobFailed)."""

from __future__ import annotations

from gateway.messages.problems import ProblemDetails

# Same base as the gateway's problem types (gateway/errors.py), which engines must not import.
PROBLEM_BASE = "https://flexgrid-atp.org/problems/"


def engine_error(kind: str, error: str, attempts: int) -> ProblemDetails:
    return ProblemDetails(
        type=PROBLEM_BASE + "engine-error",
        title="Engine failed",
        status=500,
        detail=f"the {kind} engine failed on attempt {attempts}: {error}",
    )


def invalid_input(message: str) -> ProblemDetails:
    return ProblemDetails(
        type=PROBLEM_BASE + "invalid-job-input",
        title="Invalid job input",
        status=422,
        detail=f"{message}; fix the input and submit a new job",
    )


def workers_lost(kind: str, attempts: int) -> ProblemDetails:
    return ProblemDetails(
        type=PROBLEM_BASE + "engine-workers-lost",
        title="Engine workers lost",
        status=500,
        detail=(
            f"every one of {attempts} {kind} workers that took this job stopped before reporting "
            "(killed, out of memory or shut down): the job is dead-lettered"
        ),
    )

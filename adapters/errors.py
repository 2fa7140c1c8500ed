"""The adapters' error tree, its problem details and its reading back from a NATS error reply."""

from __future__ import annotations

from gateway.messages.problems import FieldError, ProblemDetails

PROBLEM_BASE = "https://flexgrid-atp.org/problems/"  # the gateway's base (gateway/errors.py)


class MarketError(Exception):
    """Base of the adapters' errors; ``problem`` is what a NATS reply or REST response carries."""

    def __init__(self, problem: ProblemDetails) -> None:
        super().__init__(f"{problem.status} {problem.title}: {problem.detail}")
        self.problem = problem

    @staticmethod
    def from_problem(problem: ProblemDetails) -> MarketError:
        if problem.type == PROBLEM_BASE + "invalid-market-input":
            return MarketInputError(problem.errors, problem.detail or "")
        return MarketError(problem)


class MarketInputError(MarketError):
    """The auction cannot be cleared as sent; ``errors`` say where and why. Nothing was cleared."""

    def __init__(self, errors: list[FieldError], what: str) -> None:
        self.errors = errors
        super().__init__(
            ProblemDetails(
                type=PROBLEM_BASE + "invalid-market-input",
                title="Invalid market input",
                status=422,
                detail=f"{what}: {len(errors)} error(s); fix them and send the auction again",
                errors=errors,
            )
        )


class MarketUnavailable(MarketError):
    """No adapter answered on ``subject``: none is served there, or it did not answer in time."""

    def __init__(self, subject: str, why: str) -> None:
        self.subject = subject
        super().__init__(
            ProblemDetails(
                type=PROBLEM_BASE + "market-adapter-unavailable",
                title="Market adapter unavailable",
                status=503,
                detail=f"no market adapter answered on {subject}: {why}",
            )
        )


def internal_error(what: str) -> MarketError:
    return MarketError(
        ProblemDetails(
            type=PROBLEM_BASE + "market-adapter-error",
            title="Market adapter failed",
            status=500,
            detail=f"{what}; the auction was not cleared, retry or report it",
        )
    )

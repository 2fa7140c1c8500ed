"""Errors over NATS: the gateway's error tree in reply headers, and its client-side reading.

A failed request gets `Nats-Service-Error-Code` (the HTTP-like status) and
`Nats-Service-Error` (the title) headers, as nats.micro does, and a ProblemDetails body.
"""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from gateway.messages.problems import FieldError, ProblemDetails

ERROR_CODE = "Nats-Service-Error-Code"
ERROR_TEXT = "Nats-Service-Error"
API_KEY_HEADER = "Flexgrid-Api-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotency-Replayed"

T = TypeVar("T")
_LOCATION = re.compile(r" - at `(\$[^`]*)`$")


def error_headers(problem: ProblemDetails) -> dict[str, str]:
    return {ERROR_CODE: str(problem.status), ERROR_TEXT: problem.title}


def validation_errors(exc: msgspec.ValidationError) -> list[FieldError]:
    """msgspec says where in its message (`... - at `$.p_mw``): keep that as the location."""
    message = str(exc)
    match = _LOCATION.search(message)
    if match is None:
        return [FieldError(location="$", message=message)]
    return [FieldError(location=match.group(1), message=message[: match.start()])]


class ServiceError(Exception):
    """Raised by `from_reply` for an error reply; carries the problem details."""

    def __init__(self, problem: ProblemDetails) -> None:
        super().__init__(f"{problem.status} {problem.title}: {problem.detail}")
        self.problem = problem


def from_reply(headers: dict[str, str] | None, data: bytes, type_: type[T]) -> T:
    """Decode a reply into `type_`, or raise ServiceError with the problem it carries."""
    if headers and ERROR_CODE in headers:
        try:
            problem = msgspec.json.decode(data, type=ProblemDetails)
        except msgspec.DecodeError:
            problem = ProblemDetails(
                title=headers.get(ERROR_TEXT, "error"), status=int(headers[ERROR_CODE])
            )
        raise ServiceError(problem)
    return msgspec.json.decode(data, type=type_)

"""RFC 9457 problem details, the one error body of REST responses and NATS error replies."""

from __future__ import annotations

import msgspec


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    """Where a request went wrong: a JSON path (`$.delivery.start`), a header or a parameter."""

    location: str
    message: str


class ProblemDetails(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] = msgspec.field(default_factory=list)

"""The one error tree of the gateway. Each error knows its HTTP status and problem type.

REST turns these into RFC 9457 problem details in `gateway.http.problems`; the NATS side turns
the same errors into error headers.
"""

from __future__ import annotations

from gateway.messages.problems import FieldError, ProblemDetails

PROBLEM_BASE = "https://flexgrid-atp.org/problems/"


class GatewayError(Exception):
    status = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def to_problem(self, instance: str | None = None) -> ProblemDetails:
        return ProblemDetails(
            type=PROBLEM_BASE + self.slug,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
        )


class BadRequest(GatewayError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(GatewayError):
    status, slug, title = 401, "unauthorized", "Missing or invalid API key"


class Forbidden(GatewayError):
    status, slug, title = 403, "forbidden", "Not allowed for this role"


class NotFound(GatewayError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(GatewayError):
    status, slug, title = 409, "conflict", "Conflict with the current state"


class UnsupportedMediaType(GatewayError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(GatewayError):
    status, slug, title = 422, "validation-error", "The request body is not valid"


class TooManyRequests(GatewayError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class ServiceUnavailable(GatewayError):
    status, slug, title = 503, "unavailable", "Service unavailable"

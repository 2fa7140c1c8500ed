"""Every error leaves as RFC 9457 `application/problem+json`, mapped in this one place."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)

from gateway.errors import (
    BadRequest,
    GatewayError,
    NotFound,
    TooManyRequests,
    Unprocessable,
)
from gateway.http.hooks import PrettyResponse
from gateway.messages.problems import FieldError, ProblemDetails

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("flexgrid.gateway")


def problem_response(
    problem: ProblemDetails, headers: dict[str, str] | None = None
) -> Response[Any]:
    return PrettyResponse(
        content=msgspec.json.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _location(item: dict[str, Any]) -> str:
    key = str(item.get("key", ""))
    source = str(item.get("source", "body"))
    if source.endswith("body"):
        return "$" if key in ("", "data") else f"$.{key}"
    return f"{source.rsplit('.', 1)[-1].lower()}:{key}"


def _from_validation(exc: ValidationException) -> GatewayError:
    items = exc.extra if isinstance(exc.extra, list) else []
    errors = [
        FieldError(location=_location(item), message=str(item.get("message", "")))
        for item in items
        if isinstance(item, dict)
    ]
    in_body = all(e.location.startswith("$") for e in errors)
    summary = "; ".join(f"{e.location}: {e.message}" for e in errors) or str(exc.detail)
    if in_body and errors:
        return Unprocessable(summary, errors=errors)
    return BadRequest(summary, errors=errors)


def to_gateway_error(exc: Exception) -> GatewayError:
    match exc:
        case GatewayError():
            return exc
        case ValidationException():
            return _from_validation(exc)
        case NotFoundException():
            return NotFound("no such resource")
        case MethodNotAllowedException():
            error = GatewayError("method not allowed on this path")
            error.status, error.slug, error.title = 405, "method-not-allowed", "Method not allowed"
            return error
        case HTTPException():
            # Litestar's own client errors (malformed JSON, bad parameters, oversized bodies).
            error = BadRequest(str(exc.detail))
            error.status = exc.status_code
            if exc.status_code != 400:
                error.slug, error.title = f"http-{exc.status_code}", exc.detail or error.title
            return error
        case _:
            # A bug: log it with its traceback, tell the client nothing internal.
            log.exception("unhandled error", exc_info=exc)
            return GatewayError("an unexpected error occurred; it has been logged")


def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    error = to_gateway_error(exc)
    headers: dict[str, str] = {}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after_s)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'ApiKey realm="flexgrid"'
    if error.status == 405 and isinstance(exc, HTTPException) and exc.headers:
        headers.update(exc.headers)
    return problem_response(error.to_problem(instance=request.url.path), headers or None)


EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {Exception: handle}
__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "problem_response"]

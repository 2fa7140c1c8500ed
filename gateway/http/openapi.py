"""OpenAPI helpers: every route documents the problems it can answer with."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import SecurityRequirement

from gateway.messages.problems import ProblemDetails

API_KEY_SCHEME = "ApiKey"
SECURITY: list[SecurityRequirement] = [{API_KEY_SCHEME: []}]

_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, header or parameter)",
    401: "Missing or invalid API key",
    403: "The caller's role may not do this",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with the current state (session closed, duplicate, in flight)",
    415: "The body is not application/json",
    422: "The body is well-formed but not valid",
    429: "Rate limit of the API key exceeded",
    503: "A dependency (database) is unavailable",
}


def problems(*statuses: int, authenticated: bool = True) -> dict[int, ResponseSpec]:
    """Response specs for the given statuses plus those every (authenticated) route can give."""
    common = {400, 401, 403, 429} if authenticated else {400}
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=_DESCRIPTIONS[status],
            media_type="application/problem+json",
            generate_examples=False,
        )
        for status in sorted(common | set(statuses))
    }

"""JSON-only request bodies (415) and `?pretty=` output."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.serialization import default_serializer
from litestar.types import Serializer

from gateway.errors import UnsupportedMediaType

T = TypeVar("T")
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def require_json_body(request: Request[Any, Any, Any]) -> None:
    """A body in another media type gets 415 before anything parses it."""
    if request.method not in _BODY_METHODS:
        return
    content_type = request.headers.get("content-type")
    if content_type is None:
        if request.headers.get("content-length", "0") in ("", "0") and not request.headers.get(
            "transfer-encoding"
        ):
            return  # no body at all: a command without payload
        raise UnsupportedMediaType("send the body as application/json (no Content-Type given)")
    if not is_json(content_type):
        raise UnsupportedMediaType(f"send the body as application/json, not {content_type!r}")


class PrettyResponse(Response[T]):
    """Indents JSON when the request asked for `?pretty=true` (compression comes after)."""

    _pretty = False

    def to_asgi_response(self, app: Any, request: Request[Any, Any, Any], **kwargs: Any) -> Any:
        flag = request.query_params.get("pretty", "").lower()
        self._pretty = flag in ("1", "true", "yes", "on")
        return super().to_asgi_response(app, request, **kwargs)

    def render(
        self, content: Any, media_type: str, enc_hook: Serializer = default_serializer
    ) -> bytes:
        body = super().render(content, media_type, enc_hook)
        if self._pretty and body and is_json(media_type):
            return msgspec.json.format(body, indent=2) + b"\n"
        return body

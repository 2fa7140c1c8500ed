"""Opaque keyset cursors: the page after a row is everything ordered after its key."""

from __future__ import annotations

import base64
import binascii

from gateway.errors import BadRequest
from gateway.messages.problems import FieldError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(
            "the cursor is not one this API returned",
            errors=[FieldError(location="query:cursor", message="invalid cursor")],
        ) from exc


def decode_int_cursor(cursor: str | None) -> int | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    if not key.isdigit():
        raise BadRequest(
            "the cursor is not one this API returned",
            errors=[FieldError(location="query:cursor", message="invalid cursor")],
        )
    return int(key)

"""API key format: `fgk_<prefix>_<secret>`. The prefix is public and indexed; the key is stored
only as its SHA-256, and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import msgspec

KEY_SCHEME = "fgk"


class IssuedKey(msgspec.Struct, frozen=True):
    prefix: str
    key: str
    sha256: str


def issue_key() -> IssuedKey:
    prefix = secrets.token_hex(6)
    key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return IssuedKey(prefix=prefix, key=key, sha256=hash_key(key))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def prefix_of(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def matches(key: str, sha256: str) -> bool:
    return hmac.compare_digest(hash_key(key), sha256)

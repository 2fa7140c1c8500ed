"""Turns the `Authorization: ApiKey <key>` or `X-API-Key` header into a `Caller`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from sqlalchemy import select

from gateway.auth import keys
from gateway.auth.caller import Caller
from gateway.db.database import Database
from gateway.db.tables import api_key, participant
from gateway.errors import Unauthorized
from gateway.messages.common import Role


def key_from_headers(headers: Mapping[str, str]) -> str:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "apikey" or not value.strip():
            raise Unauthorized("use 'Authorization: ApiKey <key>' or the X-API-Key header")
        return value.strip()
    header = headers.get("x-api-key")
    if header:
        return header.strip()
    raise Unauthorized("no API key: send 'Authorization: ApiKey <key>' or 'X-API-Key: <key>'")


class ApiKeyAuthenticator:
    """Verifies keys against their stored hash; caches a verified key for `cache_s` seconds so
    the order intake does not pay a database round trip per request."""

    def __init__(
        self, db: Database, cache_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._cache_s = cache_s
        self._clock = clock
        self._cache: dict[str, tuple[float, Caller]] = {}

    async def authenticate(self, key: str) -> Caller:
        digest = keys.hash_key(key)
        cached = self._cache.get(digest)
        if cached is not None and self._clock() - cached[0] < self._cache_s:
            return cached[1]
        prefix = keys.prefix_of(key)
        if prefix is None:
            raise Unauthorized("malformed API key")
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        api_key.c.id,
                        api_key.c.secret_sha256,
                        api_key.c.scopes,
                        api_key.c.revoked_at,
                        participant.c.id,
                        participant.c.role,
                    )
                    .join(participant, participant.c.id == api_key.c.participant_id)
                    .where(api_key.c.prefix == prefix)
                )
            ).first()
        if row is None or row[3] is not None or not keys.matches(key, row[1]):
            self._cache.pop(digest, None)
            raise Unauthorized("unknown or revoked API key")
        caller = Caller(
            participant_id=row[4],
            role=Role(row[5]),
            scopes=frozenset(row[2].split()),
            key_id=row[0],
        )
        self._cache[digest] = (self._clock(), caller)
        return caller

    def forget(self, key_id: str) -> None:
        """Drop a revoked key from this replica's cache at once."""
        for digest, (_, caller) in list(self._cache.items()):
            if caller.key_id == key_id:
                del self._cache[digest]

"""Scopes granted to each role. Object-level rules (own orders, own zones) live in the services."""

from __future__ import annotations

from types import MappingProxyType

from gateway.messages.common import Role

PARTICIPANTS_ADMIN = "participants:admin"
KEYS_SELF = "keys:self"
ZONES_READ = "zones:read"
ZONES_WRITE = "zones:write"
ASSETS_READ = "assets:read"
ASSETS_WRITE = "assets:write"
ASSETS_DECIDE = "assets:decide"
SESSIONS_READ = "sessions:read"
SESSIONS_WRITE = "sessions:write"
REQUESTS_READ = "requests:read"
REQUESTS_WRITE = "requests:write"
OFFERS_READ = "offers:read"
OFFERS_WRITE = "offers:write"
JOBS_RUN = "jobs:run"

_EVERYONE = (KEYS_SELF, ZONES_READ, SESSIONS_READ, JOBS_RUN)

ROLE_SCOPES: MappingProxyType[Role, frozenset[str]] = MappingProxyType(
    {
        Role.FMO: frozenset(
            (
                *_EVERYONE,
                PARTICIPANTS_ADMIN,
                ZONES_WRITE,
                ASSETS_READ,
                ASSETS_DECIDE,
                SESSIONS_WRITE,
                REQUESTS_READ,
                OFFERS_READ,
            )
        ),
        Role.DSO: frozenset(
            (
                *_EVERYONE,
                ZONES_WRITE,
                ASSETS_READ,
                ASSETS_DECIDE,
                REQUESTS_READ,
                REQUESTS_WRITE,
                OFFERS_READ,
            )
        ),
        Role.TSO: frozenset((*_EVERYONE, REQUESTS_READ, REQUESTS_WRITE)),
        Role.AGGREGATOR: frozenset(
            (*_EVERYONE, ASSETS_READ, ASSETS_WRITE, OFFERS_READ, OFFERS_WRITE)
        ),
        Role.ESP: frozenset((*_EVERYONE, ASSETS_READ, ASSETS_WRITE, OFFERS_READ, OFFERS_WRITE)),
        Role.RETAILER: frozenset(_EVERYONE),
    }
)

"""What the host gives engines that ask a service during a run (the wholesale adapter, say).

Engines stay pure functions of their input; an engine that needs a service satisfies
:class:`UsesContext` and the composition root (the gateway's in-process mode, `flexgrid worker`)
hands it an :class:`EngineContext` before the runner starts: configuration only (it is pickled into
worker processes), the engine opens its own connection for a run and closes it after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from engines.base import AnyEngine


@dataclass(frozen=True)
class NatsEndpoint:
    """How to reach the NATS server or cluster the host itself uses."""

    servers: tuple[str, ...]
    credentials: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None


@dataclass(frozen=True)
class EngineContext:
    """``nats``: none when the host has no NATS (engines then use in-process emulators only).
    ``market_adapters``: the host serves the market adapters on that NATS, so engines ask them by
    default."""

    nats: NatsEndpoint | None = None
    market_adapters: bool = False


@runtime_checkable
class UsesContext(Protocol):
    def with_context(self, context: EngineContext) -> AnyEngine:
        """The same engine, configured with the host's context (a new instance)."""
        ...

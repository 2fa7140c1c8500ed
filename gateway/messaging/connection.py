"""The gateway's NATS link: an external server or cluster, or an embedded nats-server."""

from __future__ import annotations

import asyncio
import logging
import ssl

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from gateway.messaging.embedded import NatsServer
from gateway.messaging.streams import ensure_streams
from gateway.settings import Settings

log = logging.getLogger("flexgrid.nats")


def _tls(settings: Settings) -> ssl.SSLContext | None:
    if settings.nats_tls_ca is None and settings.nats_tls_cert is None:
        return None
    context = ssl.create_default_context(
        cafile=str(settings.nats_tls_ca) if settings.nats_tls_ca else None
    )
    if settings.nats_tls_cert is not None:
        context.load_cert_chain(
            str(settings.nats_tls_cert),
            str(settings.nats_tls_key) if settings.nats_tls_key else None,
        )
    return context


class NatsLink:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._embedded: NatsServer | None = None
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    @property
    def nc(self) -> Client:
        if self._nc is None:
            raise RuntimeError("NATS is not connected")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("NATS is not connected")
        return self._js

    @property
    def embedded_url(self) -> str | None:
        return self._embedded.url if self._embedded else None

    async def start(self) -> None:
        servers = self._settings.nats_url
        if servers is None:
            self._embedded = NatsServer(store_dir=self._settings.data_dir / "nats")
            servers = await asyncio.to_thread(self._embedded.start)
            log.info("embedded nats-server at %s", servers)
        self._nc = await nats.connect(
            servers=servers.split(","),
            name="flexgrid-gateway",
            tls=_tls(self._settings),
            user_credentials=(
                str(self._settings.nats_credentials) if self._settings.nats_credentials else None
            ),
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
            # Our subscriptions are closed before the drain; do not let a stuck one hold the
            # shutdown for nats-py's default 30 s.
            drain_timeout=5,
        )
        self._js = self._nc.jetstream(timeout=10)
        await ensure_streams(self._js, replicas=self._settings.nats_stream_replicas)

    async def probe_nats(self) -> None:
        if self._nc is None or not self._nc.is_connected:
            raise ConnectionError("not connected to NATS")

    async def probe_jetstream(self) -> None:
        await self.js.account_info()

    async def stop(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            try:
                await self._nc.drain()
            except Exception:  # closing anyway; a drain error must not hide the shutdown
                log.warning("NATS drain failed", exc_info=True)
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.stop)

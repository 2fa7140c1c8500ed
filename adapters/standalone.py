"""`flexgrid adapters`: the emulated markets served by a process of their own.

With FLEXGRID_ENGINES=external no gateway serves them (gateway/core.py does so only in-process), so
the TSO forwarding and the market-architecture jobs would find no responder. Run one or more of
these beside the workers: they join the adapters' queue group, so requests are spread over them.
SIGTERM/SIGINT drain the connection (no new requests; those in flight are answered) and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Collection
from typing import Final, Literal

import nats
from nats.aio.client import Client

from adapters.balancing.emulator import EmulatedBalancingMarket
from adapters.connection import tls_context
from adapters.service import SERVICE_NAME, serve_markets
from adapters.wholesale.emulator import EmulatedWholesaleMarket
from engines.context import NatsEndpoint
from gateway.messages import subjects

log = logging.getLogger(__name__)
Market = Literal["wholesale", "balancing"]
MARKETS: Final[tuple[Market, ...]] = ("wholesale", "balancing")
SUBJECTS: Final[dict[Market, str]] = {
    "wholesale": subjects.DAY_AHEAD_CLEAR,
    "balancing": subjects.BALANCING_ACTIVATE,
}


async def _connect(endpoint: NatsEndpoint, drain_s: float, stop: asyncio.Event) -> Client:
    last_error = ""

    async def error(exc: Exception) -> None:
        # Once per kind of error: while NATS is away every attempt fails the same way, and
        # nats-py's default logs each one with a traceback.
        nonlocal last_error
        if repr(exc) != last_error:
            last_error = repr(exc)
            log.warning("NATS: %r", exc)

    async def disconnected() -> None:
        if not stop.is_set():  # the drain at a stop disconnects too, on purpose
            log.warning("NATS connection lost; reconnecting")

    async def reconnected() -> None:
        nonlocal last_error
        last_error = ""  # the next outage is logged again
        log.warning("NATS connection back; serving again")

    return await nats.connect(
        servers=list(endpoint.servers),
        name=SERVICE_NAME,
        tls=tls_context(endpoint),
        user_credentials=endpoint.credentials,
        # A supervised service rides out any outage of the cluster, as the workers do.
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        # How long a stop waits for requests in flight (a day-ahead clearing runs seconds).
        drain_timeout=drain_s,
        error_cb=error,
        disconnected_cb=disconnected,
        reconnected_cb=reconnected,
    )


async def serve(
    endpoint: NatsEndpoint, markets: Collection[Market], stop: asyncio.Event, drain_s: float
) -> None:
    """Serve ``markets`` on ``endpoint`` until ``stop`` is set, then drain and return."""
    # NATS may be down at start: connecting retries for ever, so a stop must not wait for it.
    connecting = asyncio.create_task(_connect(endpoint, drain_s, stop))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait((connecting, stopping), return_when=asyncio.FIRST_COMPLETED)
    if not connecting.done():
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connecting
        log.info("stopped before NATS at %s answered", ",".join(endpoint.servers))
        return
    stopping.cancel()
    nc = connecting.result()
    try:
        await serve_markets(
            nc,
            EmulatedWholesaleMarket() if "wholesale" in markets else None,
            EmulatedBalancingMarket() if "balancing" in markets else None,
        )
        served = [f"{market}={SUBJECTS[market]}" for market in MARKETS if market in markets]
        log.info("serving %s on %s", ", ".join(served), ",".join(endpoint.servers))
        # A line on stdout that supervisors and tests can wait for (as `flexgrid worker` prints).
        print(f"ready {SERVICE_NAME} {' '.join(served)}", flush=True)
        await stop.wait()
        log.info("stopping: answering the requests in flight")
    finally:
        # Not service.stop(): it unsubscribes at once, which cancels a request being answered;
        # a drain stops new deliveries, lets the handlers reply, then closes the connection.
        if not nc.is_closed:
            await nc.drain()


def run(endpoint: NatsEndpoint, markets: Collection[Market], drain_s: float = 30.0) -> None:
    """The process: serve until SIGTERM or SIGINT."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(endpoint, markets, stop, drain_s)

    asyncio.run(main())

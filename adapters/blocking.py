"""The wholesale adapter over NATS for synchronous callers: an engine run, which executes in a
worker thread or process outside any event loop (``engines.markets.wholesale_port.DayAheadClearing``).

It owns its connection and a private event loop on a daemon thread for as long as it is open
(``with BlockingWholesaleMarket(endpoint) as market: ...``), so it never touches the loop of the
host that started the run. An adapter that is not there, or does not answer in time, raises
:class:`adapters.errors.MarketUnavailable` naming the subject; a problem the adapter answers with
raises the same ``MarketError`` as the async client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

import nats
import nats.errors
from nats.aio.client import Client

from adapters.client import NatsWholesaleMarket
from adapters.connection import tls_context
from adapters.errors import MarketUnavailable
from engines.context import NatsEndpoint
from gateway.messages import subjects
from gateway.messages.wholesale import DayAheadAuction, DayAheadResult

T = TypeVar("T")
log = logging.getLogger(__name__)


def _run_on(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], timeout_s: float | None
) -> T:
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout_s)


class BlockingWholesaleMarket:
    def __init__(
        self, endpoint: NatsEndpoint, timeout_s: float = 60.0, connect_timeout_s: float = 5.0
    ) -> None:
        self._endpoint = endpoint
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._nc: Client | None = None
        self._market: NatsWholesaleMarket | None = None
        self._last_error: Exception | None = None

    def __enter__(self) -> BlockingWholesaleMarket:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name="wholesale-adapter-client", daemon=True
        )
        self._thread.start()
        try:
            # Bounded: every server tried max_reconnect_attempts times at connect_timeout each.
            self._nc = self._call(self._connect(), 10 * (self._connect_timeout_s + 0.5))
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            self.close()
            servers = ", ".join(self._endpoint.servers)
            why = self._last_error or exc
            raise MarketUnavailable(
                subjects.DAY_AHEAD_CLEAR, f"cannot connect to NATS at {servers} ({why})"
            ) from None
        self._market = NatsWholesaleMarket(self._nc, self._timeout_s)

    async def _connect(self) -> Client:
        return await nats.connect(
            servers=list(self._endpoint.servers),
            name="flexgrid-engine-wholesale",
            tls=tls_context(self._endpoint),
            user_credentials=self._endpoint.credentials,
            connect_timeout=self._connect_timeout_s,
            # A run rides out a short reconnect; a server that never answers fails the first
            # connect after these attempts rather than hanging the job.
            max_reconnect_attempts=5,
            reconnect_time_wait=0.5,
            error_cb=self._on_error,
        )

    async def _on_error(self, exc: Exception) -> None:
        # Kept for the problem if the connection never comes up; nats-py would log every
        # attempt's traceback otherwise.
        self._last_error = exc
        log.debug("NATS error of the wholesale client: %r", exc)

    def clear(self, auction: DayAheadAuction) -> DayAheadResult:
        if self._market is None:
            raise RuntimeError("BlockingWholesaleMarket is not open: use it as a context manager")
        try:
            # The request's own timeout fires first; the margin only guards a stuck loop.
            return self._call(self._market.clear(auction), self._timeout_s + 5.0)
        except nats.errors.NoRespondersError:
            raise MarketUnavailable(
                subjects.DAY_AHEAD_CLEAR,
                "no wholesale adapter is served there (start `flexgrid adapters`, or `flexgrid "
                "serve` with FLEXGRID_ENGINES=in-process, or run the job with wholesale "
                "'in-process')",
            ) from None
        except (nats.errors.TimeoutError, TimeoutError):
            raise MarketUnavailable(
                subjects.DAY_AHEAD_CLEAR, f"no answer within {self._timeout_s:g} s"
            ) from None
        except (nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError) as exc:
            raise MarketUnavailable(
                subjects.DAY_AHEAD_CLEAR, f"the NATS connection is down ({exc!r})"
            ) from None

    def _call(self, coro: Coroutine[Any, Any, T], timeout_s: float | None) -> T:
        assert self._loop is not None  # noqa: S101 - set by open()
        return _run_on(self._loop, coro, timeout_s)

    def close(self) -> None:
        loop, thread, nc = self._loop, self._thread, self._nc
        self._loop = self._thread = self._nc = self._market = None
        if loop is None:
            return
        if nc is not None:
            with contextlib.suppress(Exception):  # closing anyway: the run's result is what counts
                _run_on(loop, nc.close(), 5.0)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5.0)
        if not loop.is_running():
            loop.close()

"""The wholesale market as the architectures see it: a blocking port, because an engine run is
synchronous (it runs in a worker thread or process, outside any event loop).

Two implementations: :class:`InProcessDayAhead` (the emulator's own validated auction, called in
this process: pure tests and hosts without the adapter) and ``adapters.blocking.BlockingWholesaleMarket``
(the wholesale adapter over NATS). Both raise ``adapters.errors.MarketError`` on a broken contract.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from adapters.wholesale.emulator import clear_checked
from gateway.messages.wholesale import DayAheadAuction, DayAheadResult


@runtime_checkable
class DayAheadClearing(Protocol):
    """Clears one day-ahead auction and waits for the result."""

    def clear(self, auction: DayAheadAuction) -> DayAheadResult: ...


class InProcessDayAhead:
    """The emulated wholesale market in this process: the same validation and auction the adapter
    serves, without the wire."""

    def clear(self, auction: DayAheadAuction) -> DayAheadResult:
        return clear_checked(auction)


class CountedClearing:
    """Counts the auctions a run asks of ``market`` (the result reports them)."""

    def __init__(self, market: DayAheadClearing) -> None:
        self._market = market
        self.requests = 0

    def clear(self, auction: DayAheadAuction) -> DayAheadResult:
        self.requests += 1
        return self._market.clear(auction)

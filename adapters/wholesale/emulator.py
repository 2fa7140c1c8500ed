"""The emulated wholesale day-ahead market: validation, then the DC-OPF auction off the event loop."""

from __future__ import annotations

import asyncio

from adapters.errors import MarketInputError
from engines.markets.auction import clear_day_ahead, validate_auction
from engines.markets.dcgrid import case_grid
from gateway.messages.wholesale import DayAheadAuction, DayAheadResult


class EmulatedWholesaleMarket:
    """Stateless: every auction names its transmission case. The CPU-bound solve runs in a thread
    (HiGHS releases the GIL), so a service keeps answering while it clears."""

    async def clear(self, auction: DayAheadAuction) -> DayAheadResult:
        return await asyncio.to_thread(clear_checked, auction)


def clear_checked(auction: DayAheadAuction) -> DayAheadResult:
    grid = case_grid(auction.network)
    errors = validate_auction(auction, grid)
    if errors:
        raise MarketInputError(errors, f"day-ahead auction {auction.auction_id}")
    return clear_day_ahead(auction, grid=grid)

"""The emulated TSO balancing market: validation, then merit-order activation."""

from __future__ import annotations

from adapters.balancing.merit_order import clear_balancing, validate_balancing
from adapters.errors import MarketInputError
from gateway.messages.balancing import BalancingAuction, BalancingResult


class EmulatedBalancingMarket:
    """Stateless and fast (a sort per period): runs on the caller's loop."""

    async def activate(self, auction: BalancingAuction) -> BalancingResult:
        return activate_checked(auction)


def activate_checked(auction: BalancingAuction) -> BalancingResult:
    errors = validate_balancing(auction)
    if errors:
        raise MarketInputError(errors, f"balancing auction {auction.auction_id}")
    return clear_balancing(auction)

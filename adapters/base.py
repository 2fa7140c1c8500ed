"""The market adapter ports. Each has an emulated implementation (in process) and a NATS client that
satisfies the same Protocol; one contract suite (tests/adapters) runs against all of them.

Outcomes are values (an infeasible auction is a result with its status); invalid input raises
:class:`adapters.errors.MarketInputError` with the field errors, on every implementation alike.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from gateway.messages.balancing import BalancingAuction, BalancingResult
from gateway.messages.wholesale import DayAheadAuction, DayAheadResult


@runtime_checkable
class WholesaleMarket(Protocol):
    """A day-ahead market: clears an auction of step and block orders over its network."""

    async def clear(self, auction: DayAheadAuction) -> DayAheadResult: ...


@runtime_checkable
class BalancingMarket(Protocol):
    """A TSO balancing energy market: activates bids in merit order against imbalance needs."""

    async def activate(self, auction: BalancingAuction) -> BalancingResult: ...

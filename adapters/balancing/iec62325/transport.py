"""Serving the XML form of the balancing request (headers.py says what travels where)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from adapters.balancing.iec62325.bids import read_reserve_bid_document
from adapters.balancing.iec62325.headers import CONTENT_TYPE, XML, is_document, read_needs
from adapters.balancing.iec62325.results import allocation_result_document
from adapters.base import BalancingMarket
from adapters.errors import MarketInputError

__all__ = ["CONTENT_TYPE", "XML", "activate_document", "is_document"]


async def activate_document(
    market: BalancingMarket, data: bytes, headers: Mapping[str, str] | None, created: datetime
) -> bytes:
    """Activate the bids of a reserve bid document; the allocation result document back."""
    read = read_reserve_bid_document(data, read_needs(headers))
    try:
        result = await market.activate(read.auction)
    except MarketInputError as exc:  # the market's own checks, located in the document
        raise read.relocate(exc) from None
    return allocation_result_document(
        result,
        delivery_start=read.auction.delivery_start,
        resolution_minutes=read.auction.resolution_minutes,
        created=created,
    )

"""NATS clients of the market adapters: the same Protocols as the emulators, over request/reply."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import msgspec
from nats.aio.client import Client

from adapters.balancing.iec62325.headers import document_headers
from adapters.errors import MarketError
from gateway.messages import subjects
from gateway.messages.balancing import BalancingAuction, BalancingResult, ImbalanceNeed
from gateway.messages.wholesale import DayAheadAuction, DayAheadResult
from gateway.messaging.replies import ERROR_CODE, ServiceError, from_reply

T = TypeVar("T")
_encoder = msgspec.json.Encoder()


async def _request(
    nc: Client, subject: str, body: msgspec.Struct, reply: type[T], timeout_s: float
) -> T:
    msg = await nc.request(subject, _encoder.encode(body), timeout=timeout_s)
    try:
        return from_reply(msg.headers, msg.data, reply)
    except ServiceError as exc:
        raise MarketError.from_problem(exc.problem) from None


class NatsWholesaleMarket:
    def __init__(self, nc: Client, timeout_s: float = 60.0) -> None:
        self._nc, self._timeout_s = nc, timeout_s

    async def clear(self, auction: DayAheadAuction) -> DayAheadResult:
        return await _request(
            self._nc, subjects.DAY_AHEAD_CLEAR, auction, DayAheadResult, self._timeout_s
        )


class NatsBalancingMarket:
    def __init__(self, nc: Client, timeout_s: float = 10.0) -> None:
        self._nc, self._timeout_s = nc, timeout_s

    async def activate(self, auction: BalancingAuction) -> BalancingResult:
        return await _request(
            self._nc, subjects.BALANCING_ACTIVATE, auction, BalancingResult, self._timeout_s
        )

    async def activate_document(
        self, reserve_bid_document: bytes, needs: Sequence[ImbalanceNeed]
    ) -> bytes:
        """IEC 62325-451-7 in and out: a ReserveBid_MarketDocument and the needs beside it; the
        ReserveAllocationResult_MarketDocument back (adapters/balancing/iec62325/transport.py)."""
        msg = await self._nc.request(
            subjects.BALANCING_ACTIVATE,
            reserve_bid_document,
            timeout=self._timeout_s,
            headers=document_headers(needs),
        )
        if msg.headers and ERROR_CODE in msg.headers:  # a problem+json body, as on the JSON path
            try:
                from_reply(msg.headers, msg.data, object)
            except ServiceError as exc:
                raise MarketError.from_problem(exc.problem) from None
        return msg.data

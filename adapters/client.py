"""NATS clients of the market adapters: the same Protocols as the emulators, over request/reply."""

from __future__ import annotations

from typing import TypeVar

import msgspec
from nats.aio.client import Client

from adapters.errors import MarketError
from gateway.messages import subjects
from gateway.messages.balancing import BalancingAuction, BalancingResult
from gateway.messages.wholesale import DayAheadAuction, DayAheadResult
from gateway.messaging.replies import ServiceError, from_reply

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

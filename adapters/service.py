"""The market adapters served over NATS request/reply (nats.micro: queue group, PING/INFO/STATS).

One typed decoder per subject, built once. A bad request gets the `Nats-Service-Error-Code` header and
an RFC 9457 problem body (as the gateway's intake does); the client turns it back into the same error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import msgspec
from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import EndpointConfig, Service, ServiceConfig

from adapters.balancing.iec62325 import transport as iec
from adapters.base import BalancingMarket, WholesaleMarket
from adapters.errors import MarketError, MarketInputError, internal_error
from gateway.messages import subjects
from gateway.messages.balancing import BalancingAuction
from gateway.messages.wholesale import DayAheadAuction
from gateway.messaging.replies import validation_errors

log = logging.getLogger(__name__)
SERVICE_NAME = "flexgrid-market-adapters"
QUEUE_GROUP = "market-adapters"
_encoder = msgspec.json.Encoder()
Handler = Callable[[Request], Awaitable[None]]
T = TypeVar("T")


async def _fail(req: Request, error: MarketError) -> None:
    problem = error.problem
    await req.respond_error(str(problem.status), problem.title, _encoder.encode(problem))


async def _answer(
    req: Request,
    emulator: str,
    work: Callable[[], Awaitable[tuple[bytes, dict[str, str] | None]]],
) -> None:
    """Reply with the body and headers `work` returns. A `MarketError` is answered as its
    problem; anything else is a bug: answered all the same (so the caller does not time out)
    as an internal error, and logged."""
    try:
        body, headers = await work()
    except MarketError as exc:
        await _fail(req, exc)
    except Exception:
        log.exception("the %s failed", emulator)
        await _fail(req, internal_error(f"the {emulator} failed"))
    else:
        await req.respond(body, headers=headers)


def _decode(decoder: msgspec.json.Decoder[T], data: bytes, what: str) -> T:
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise MarketInputError(validation_errors(exc), what) from exc
    except msgspec.DecodeError as exc:
        raise MarketInputError([], f"{what} is not JSON ({exc})") from exc


def _day_ahead_handler(wholesale: WholesaleMarket) -> Handler:
    decoder = msgspec.json.Decoder(DayAheadAuction)

    async def on_day_ahead(req: Request) -> None:
        async def clear() -> tuple[bytes, None]:
            result = await wholesale.clear(_decode(decoder, req.data, "day-ahead auction"))
            return _encoder.encode(result), None

        await _answer(req, "day-ahead emulator", clear)

    return on_day_ahead


def _balancing_handler(balancing: BalancingMarket) -> Handler:
    decoder = msgspec.json.Decoder(BalancingAuction)

    async def on_balancing(req: Request) -> None:
        async def activate() -> tuple[bytes, dict[str, str] | None]:
            if iec.is_document(req.headers):  # IEC 62325-451-7 XML; JSON stays the default
                document = await iec.activate_document(
                    balancing, req.data, req.headers, created=datetime.now(UTC)
                )
                return document, {iec.CONTENT_TYPE: iec.XML}
            result = await balancing.activate(_decode(decoder, req.data, "balancing auction"))
            return _encoder.encode(result), None

        await _answer(req, "balancing emulator", activate)

    return on_balancing


async def serve_markets(
    nc: Client, wholesale: WholesaleMarket | None, balancing: BalancingMarket | None
) -> Service:
    """Start the adapters' service on ``nc``; stop it with ``await service.stop()``.

    A market given as None is not served (`flexgrid adapters --only ...`): its subject stays free,
    so a request there gets no responder rather than an answer from the wrong market."""
    if wholesale is None and balancing is None:
        raise ValueError("serve_markets needs at least one market to serve")
    service = await add_service(
        nc,
        ServiceConfig(
            name=SERVICE_NAME,
            version="1.0.0",
            description="Emulated wholesale day-ahead and TSO balancing markets",
            queue_group=QUEUE_GROUP,
        ),
    )
    if wholesale is not None:
        await service.add_endpoint(
            EndpointConfig(
                name="day-ahead",
                subject=subjects.DAY_AHEAD_CLEAR,
                handler=_day_ahead_handler(wholesale),
            )
        )
    if balancing is not None:
        await service.add_endpoint(
            EndpointConfig(
                name="balancing",
                subject=subjects.BALANCING_ACTIVATE,
                handler=_balancing_handler(balancing),
            )
        )
    await nc.flush()  # the server has the subscriptions before anyone is told the service is up
    return service

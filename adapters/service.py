"""The market adapters served over NATS request/reply (nats.micro: queue group, PING/INFO/STATS).

One typed decoder per subject, built once. A bad request gets the `Nats-Service-Error-Code` header and
an RFC 9457 problem body (as the gateway's intake does); the client turns it back into the same error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

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


async def _fail(req: Request, error: MarketError) -> None:
    problem = error.problem
    await req.respond_error(str(problem.status), problem.title, _encoder.encode(problem))


def _day_ahead_handler(wholesale: WholesaleMarket) -> Handler:
    decoder = msgspec.json.Decoder(DayAheadAuction)

    async def on_day_ahead(req: Request) -> None:
        try:
            auction = decoder.decode(req.data)
            result = await wholesale.clear(auction)
        except msgspec.ValidationError as exc:
            await _fail(req, MarketInputError(validation_errors(exc), "day-ahead auction"))
        except msgspec.DecodeError as exc:
            await _fail(req, MarketInputError([], f"day-ahead auction is not JSON ({exc})"))
        except MarketError as exc:
            await _fail(req, exc)
        except Exception:  # a bug: answered so the caller does not time out, and logged
            log.exception("day-ahead clearing failed")
            await _fail(req, internal_error("the day-ahead emulator failed"))
        else:
            await req.respond(_encoder.encode(result))

    return on_day_ahead


def _balancing_handler(balancing: BalancingMarket) -> Handler:
    decoder = msgspec.json.Decoder(BalancingAuction)

    async def on_balancing_document(req: Request) -> None:
        try:
            document = await iec.activate_document(
                balancing, req.data, req.headers, created=datetime.now(UTC)
            )
        except MarketError as exc:
            await _fail(req, exc)
        except Exception:
            log.exception("balancing activation of a reserve bid document failed")
            await _fail(req, internal_error("the balancing emulator failed"))
        else:
            await req.respond(document, headers={iec.CONTENT_TYPE: iec.XML})

    async def on_balancing(req: Request) -> None:
        if iec.is_document(req.headers):  # IEC 62325-451-7 XML; JSON stays the default
            await on_balancing_document(req)
            return
        try:
            auction = decoder.decode(req.data)
            result = await balancing.activate(auction)
        except msgspec.ValidationError as exc:
            await _fail(req, MarketInputError(validation_errors(exc), "balancing auction"))
        except msgspec.DecodeError as exc:
            await _fail(req, MarketInputError([], f"balancing auction is not JSON ({exc})"))
        except MarketError as exc:
            await _fail(req, exc)
        except Exception:
            log.exception("balancing activation failed")
            await _fail(req, internal_error("the balancing emulator failed"))
        else:
            await req.respond(_encoder.encode(result))

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

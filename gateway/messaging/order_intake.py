"""Order submission over NATS request/reply for partner platforms.

Validated and authorized exactly as over REST (same services, same API keys and scopes, same
idempotency rules); the reply is the stored order, or a problem in NATS error headers.
Every gateway replica serves the subjects in one queue group, so each request is handled once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from gateway.auth.authenticator import ApiKeyAuthenticator
from gateway.auth.caller import Caller
from gateway.auth.ratelimit import RateLimiter
from gateway.domain.orders.service import OrderService
from gateway.errors import BadRequest, Unauthorized, Unprocessable
from gateway.http.problems import to_gateway_error
from gateway.messages import subjects
from gateway.messages.batches import (
    FlexOfferBatch,
    FlexOfferBatchResult,
    FlexOfferBatchSubmit,
    FlexRequestBatch,
    FlexRequestBatchResult,
    FlexRequestBatchSubmit,
)
from gateway.messages.orders import FlexOfferSubmit, FlexRequestSubmit
from gateway.messages.problems import FieldError
from gateway.messaging.replies import (
    API_KEY_HEADER,
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    error_headers,
    validation_errors,
)

log = logging.getLogger("flexgrid.nats.intake")
QUEUE_GROUP = "flexgrid-gateway"
# Requests handled at once: nats-py awaits a subscription's callback for one message before
# the next, so each request runs in its own task; concurrent ones then share a group commit.
MAX_IN_FLIGHT = 1024
Submit = Callable[[Caller, Any, str | None], Awaitable[tuple[Any, bool]]]


class NatsOrderIntake:
    def __init__(
        self,
        nc: Client,
        orders: OrderService,
        authenticator: ApiKeyAuthenticator,
        limiter: RateLimiter,
    ) -> None:
        self._nc = nc
        self._orders = orders
        self._auth = authenticator
        self._limiter = limiter
        self._subs: list[Subscription] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._decoders: dict[str, tuple[msgspec.json.Decoder[Any], Submit]] = {
            subjects.intake("flex-requests"): (
                msgspec.json.Decoder(FlexRequestSubmit),
                orders.submit_request,
            ),
            subjects.intake("flex-offers"): (
                msgspec.json.Decoder(FlexOfferSubmit),
                orders.submit_offer,
            ),
        }
        self._batches: dict[str, tuple[msgspec.json.Decoder[Any], Submit, Any, Any]] = {
            subjects.intake("flex-requests.batch"): (
                msgspec.json.Decoder(FlexRequestBatchSubmit),
                orders.submit_request,
                FlexRequestBatchResult,
                FlexRequestBatch,
            ),
            subjects.intake("flex-offers.batch"): (
                msgspec.json.Decoder(FlexOfferBatchSubmit),
                orders.submit_offer,
                FlexOfferBatchResult,
                FlexOfferBatch,
            ),
        }

    async def start(self) -> None:
        for subject in (*self._decoders, *self._batches):
            self._subs.append(
                await self._nc.subscribe(subject, queue=QUEUE_GROUP, cb=self._dispatch)
            )

    async def stop(self) -> None:
        for sub in self._subs:
            await sub.unsubscribe()
        self._subs.clear()
        # Requests already taken are answered: their orders may be committed already.
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=10)

    async def _dispatch(self, msg: Msg) -> None:
        # Waiting for a slot here holds back the subscription, which is the back-pressure:
        # NATS then buffers (and past its limits drops) rather than this process ballooning.
        await self._slots.acquire()
        task = asyncio.create_task(self._handle(msg))
        self._in_flight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slots.release()

    async def _handle(self, msg: Msg) -> None:
        if not msg.reply:
            return  # a publish without a reply subject has nobody to answer
        try:
            body, headers = await self._submit(msg)
        except Exception as exc:  # every failure becomes a problem reply, never silence
            error = to_gateway_error(exc)
            problem = error.to_problem(instance=msg.subject)
            await self._nc.publish(
                msg.reply, msgspec.json.encode(problem), headers=error_headers(problem)
            )
            return
        await self._nc.publish(msg.reply, body, headers=headers)

    async def _submit(self, msg: Msg) -> tuple[bytes, dict[str, str] | None]:
        headers = msg.headers or {}
        key = headers.get(API_KEY_HEADER)
        if not key:
            raise Unauthorized(f"send the API key in the {API_KEY_HEADER} header")
        caller = await self._auth.authenticate(key)
        self._limiter.check(caller.key_id)
        idempotency_key = headers.get(IDEMPOTENCY_HEADER) or None
        if msg.subject in self._batches:
            if idempotency_key is not None:
                raise BadRequest(
                    "a batch has no Idempotency-Key header: give each item its idempotency_key",
                    errors=[FieldError(location=f"header:{IDEMPOTENCY_HEADER}", message="unused")],
                )
            return await self._submit_batch(caller, msg), None
        if idempotency_key is not None and not (
            len(idempotency_key) <= 255 and idempotency_key.isprintable()
        ):
            raise BadRequest(
                "Idempotency-Key must be 1 to 255 printable characters",
                errors=[FieldError(location=f"header:{IDEMPOTENCY_HEADER}", message="invalid")],
            )
        decoder, submit = self._decoders[msg.subject]
        data = _decode(decoder, msg.data)
        order, replayed = await submit(caller, data, idempotency_key)
        return msgspec.json.encode(order), ({REPLAYED_HEADER: "true"} if replayed else None)

    async def _submit_batch(self, caller: Caller, msg: Msg) -> bytes:
        """Every item as its own submission, all at once: they share the intake's group
        commits, and each succeeds or fails alone."""
        decoder, submit, result_type, reply_type = self._batches[msg.subject]
        batch = _decode(decoder, msg.data)

        async def one(index: int, item: Any) -> Any:
            try:
                order, replayed = await submit(caller, item.order, item.idempotency_key)
            except Exception as exc:
                problem = to_gateway_error(exc).to_problem(instance=f"{msg.subject}#/items/{index}")
                return result_type(problem=problem)
            return result_type(order=order, replayed=replayed)

        results = await asyncio.gather(*(one(i, item) for i, item in enumerate(batch.items)))
        failed = sum(1 for r in results if r.problem is not None)
        return msgspec.json.encode(
            reply_type(results=list(results), stored=len(results) - failed, failed=failed)
        )


def _decode(decoder: msgspec.json.Decoder[Any], data: bytes) -> Any:
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        errors = validation_errors(exc)
        raise Unprocessable(f"{errors[0].location}: {errors[0].message}", errors=errors) from exc
    except msgspec.DecodeError as exc:
        raise BadRequest(f"the message is not valid JSON: {exc}") from exc

"""Order batches over NATS: many FlexOffers or FlexRequests in one request/reply message.

For partner platforms that submit in bulk: one message, one authentication and one reply for
up to `MAX_BATCH` orders. Each item is validated, authorized, made idempotent and stored exactly
as a single submission would be; items succeed or fail on their own (the reply lists a result
per item, in order), so one bad order never refuses its neighbours.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from gateway.messages.orders import FlexOffer, FlexOfferSubmit, FlexRequest, FlexRequestSubmit
from gateway.messages.problems import ProblemDetails

MAX_BATCH = 500

IdempotencyKey = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7e]+$",
        description="As the Idempotency-Key header of a single submission, per item",
    ),
]


class FlexOfferBatchItem(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    order: FlexOfferSubmit
    idempotency_key: IdempotencyKey | None = None


class FlexRequestBatchItem(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    order: FlexRequestSubmit
    idempotency_key: IdempotencyKey | None = None


class FlexOfferBatchSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: Annotated[list[FlexOfferBatchItem], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class FlexRequestBatchSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: Annotated[list[FlexRequestBatchItem], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class FlexOfferBatchResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One item's outcome: the stored offer (`replayed` when an idempotent retry) or a problem
    whose `status` is what REST would have answered."""

    order: FlexOffer | None = None
    replayed: bool = False
    problem: ProblemDetails | None = None


class FlexRequestBatchResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    order: FlexRequest | None = None
    replayed: bool = False
    problem: ProblemDetails | None = None


class FlexOfferBatch(msgspec.Struct, frozen=True, kw_only=True):
    """Reply to a batch: one result per item, in the order of the items."""

    results: list[FlexOfferBatchResult]
    stored: int
    failed: int


class FlexRequestBatch(msgspec.Struct, frozen=True, kw_only=True):
    results: list[FlexRequestBatchResult]
    stored: int
    failed: int

"""REST for FlexRequests and FlexOffers; both share the order book service."""

from __future__ import annotations

from typing import Annotated, TypeVar

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, Parameter, QueryParameter

from gateway.auth.caller import Caller
from gateway.domain.orders.service import OrderService
from gateway.domain.paging import DEFAULT_LIMIT, MAX_LIMIT
from gateway.http.hooks import PrettyResponse
from gateway.http.openapi import SECURITY, problems
from gateway.messages.common import Id, Mrid
from gateway.messages.orders import (
    FlexOffer,
    FlexOfferPage,
    FlexOfferSubmit,
    FlexRequest,
    FlexRequestPage,
    FlexRequestSubmit,
    OrderStatus,
)

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes a retry safe: the same key and body return the stored order",
    ),
]
Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Page size")]
Cursor = Annotated[str | None, QueryParameter(name="cursor", required=False, max_length=400)]
SessionFilter = Annotated[Id | None, QueryParameter(name="session_id", required=False)]
StatusFilter = Annotated[OrderStatus | None, QueryParameter(name="status", required=False)]
NodeFilter = Annotated[Mrid | None, QueryParameter(name="node_mrid", required=False)]

_CREATED_HEADERS = {"Idempotency-Replayed": "true"}
OrderT = TypeVar("OrderT", FlexRequest, FlexOffer)


def _created(order: OrderT, location: str, replayed: bool) -> Response[OrderT]:
    headers = {"Location": location}
    if replayed:
        headers.update(_CREATED_HEADERS)
    return PrettyResponse(order, status_code=201, headers=headers)


class FlexRequestController(Controller):
    path = "/v1/flex-requests"
    tags = ("flex-requests",)
    security = SECURITY

    @post("/", operation_id="submitFlexRequest", responses=problems(404, 409, 415, 422))
    async def submit(
        self,
        data: JSONBody[FlexRequestSubmit],
        caller: NamedDependency[Caller],
        orders: NamedDependency[OrderService],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[FlexRequest]:
        """A DSO (own zones) or TSO asks for flexibility in an open session."""
        order, replayed = await orders.submit_request(caller, data, idempotency_key)
        return _created(order, f"/v1/flex-requests/{order.id}", replayed)

    @get("/", operation_id="listFlexRequests", responses=problems())
    async def list_requests(
        self,
        caller: NamedDependency[Caller],
        orders: NamedDependency[OrderService],
        session_id: SessionFilter = None,
        status: StatusFilter = None,
        node_mrid: NodeFilter = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> FlexRequestPage:
        items, next_cursor = await orders.list_visible(
            caller,
            "request",
            session_id=session_id,
            status=status,
            node_mrid=node_mrid,
            cursor=cursor,
            limit=limit,
        )
        return FlexRequestPage(
            items=[i for i in items if isinstance(i, FlexRequest)], next_cursor=next_cursor
        )

    @get("/{order_id:str}", operation_id="getFlexRequest", responses=problems(404))
    async def get_request(
        self, order_id: Id, caller: NamedDependency[Caller], orders: NamedDependency[OrderService]
    ) -> FlexRequest:
        order = await orders.get(caller, "request", order_id)
        assert isinstance(order, FlexRequest)  # noqa: S101 - the service returns the kind asked
        return order

    @post(
        "/{order_id:str}/withdraw",
        operation_id="withdrawFlexRequest",
        status_code=200,
        responses=problems(404, 409, 415),
    )
    async def withdraw(
        self, order_id: Id, caller: NamedDependency[Caller], orders: NamedDependency[OrderService]
    ) -> FlexRequest:
        """The submitter withdraws its request before gate closure (409 after)."""
        order = await orders.withdraw(caller, "request", order_id)
        assert isinstance(order, FlexRequest)  # noqa: S101 - the service returns the kind asked
        return order


class FlexOfferController(Controller):
    path = "/v1/flex-offers"
    tags = ("flex-offers",)
    security = SECURITY

    @post("/", operation_id="submitFlexOffer", responses=problems(404, 409, 415, 422))
    async def submit(
        self,
        data: JSONBody[FlexOfferSubmit],
        caller: NamedDependency[Caller],
        orders: NamedDependency[OrderService],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[FlexOffer]:
        """An aggregator or ESP offers flexibility at a node or from a prequalified asset."""
        order, replayed = await orders.submit_offer(caller, data, idempotency_key)
        return _created(order, f"/v1/flex-offers/{order.id}", replayed)

    @get("/", operation_id="listFlexOffers", responses=problems())
    async def list_offers(
        self,
        caller: NamedDependency[Caller],
        orders: NamedDependency[OrderService],
        session_id: SessionFilter = None,
        status: StatusFilter = None,
        node_mrid: NodeFilter = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> FlexOfferPage:
        items, next_cursor = await orders.list_visible(
            caller,
            "offer",
            session_id=session_id,
            status=status,
            node_mrid=node_mrid,
            cursor=cursor,
            limit=limit,
        )
        return FlexOfferPage(
            items=[i for i in items if isinstance(i, FlexOffer)], next_cursor=next_cursor
        )

    @get("/{order_id:str}", operation_id="getFlexOffer", responses=problems(404))
    async def get_offer(
        self, order_id: Id, caller: NamedDependency[Caller], orders: NamedDependency[OrderService]
    ) -> FlexOffer:
        order = await orders.get(caller, "offer", order_id)
        assert isinstance(order, FlexOffer)  # noqa: S101 - the service returns the kind asked
        return order

    @post(
        "/{order_id:str}/withdraw",
        operation_id="withdrawFlexOffer",
        status_code=200,
        responses=problems(404, 409, 415),
    )
    async def withdraw(
        self, order_id: Id, caller: NamedDependency[Caller], orders: NamedDependency[OrderService]
    ) -> FlexOffer:
        """The submitter withdraws its offer before gate closure (409 after)."""
        order = await orders.withdraw(caller, "offer", order_id)
        assert isinstance(order, FlexOffer)  # noqa: S101 - the service returns the kind asked
        return order

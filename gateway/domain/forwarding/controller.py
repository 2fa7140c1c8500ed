"""REST for forwarding to the TSO and for offer activations."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from gateway.auth.caller import Caller
from gateway.domain.forwarding.service import ForwardingService
from gateway.http.hooks import PrettyResponse
from gateway.http.openapi import SECURITY, problems
from gateway.messages.activations import (
    Forwarding,
    ForwardingSubmit,
    LocalActivationSubmit,
    OfferActivation,
)
from gateway.messages.common import Id


class ForwardingController(Controller):
    path = "/v1/market-sessions"
    tags = ("forwarding",)
    security = SECURITY

    @post(
        "/{session_id:str}/forwarding",
        operation_id="forwardToTso",
        status_code=202,
        responses=problems(404, 409, 415, 422),
    )
    async def forward(
        self,
        session_id: Id,
        data: JSONBody[ForwardingSubmit],
        caller: NamedDependency[Caller],
        forwarding: NamedDependency[ForwardingService],
    ) -> Response[Forwarding]:
        """Forward a cleared session's offers not activated locally to the TSO balancing market
        (against the TSO's imbalance needs per period); with `include_locally_dispatched` also
        the local clearing's dispatch nobody activated yet, priced no lower than the local
        market pays for it. The DSO's power flow check runs first (a job); only offers whose
        activation keeps the grid within limits leave, the others get the reason. 202 with the
        forwarding's URL; once settled it shows the TSO's activations and payments
        (pay-as-cleared). The zone's DSO or the market operator; once per session."""
        started = await forwarding.start(caller, session_id, data)
        location = f"/v1/market-sessions/{session_id}/forwarding"
        return PrettyResponse(started, status_code=202, headers={"Location": location})

    @get("/{session_id:str}/forwarding", operation_id="getForwarding", responses=problems(404))
    async def get_forwarding(
        self,
        session_id: Id,
        caller: NamedDependency[Caller],
        forwarding: NamedDependency[ForwardingService],
    ) -> Forwarding:
        """The forwarding as the caller may see it: everything (operator, DSO), what passed the
        DSO check (TSO), its own offers (a seller)."""
        return await forwarding.get(caller, session_id)

    @get("/{session_id:str}/activations", operation_id="listActivations", responses=problems(404))
    async def list_activations(
        self,
        session_id: Id,
        caller: NamedDependency[Caller],
        forwarding: NamedDependency[ForwardingService],
    ) -> list[OfferActivation]:
        """Activations of the session's offers, local and by the TSO, with their settlement."""
        return await forwarding.activations(caller, session_id)


class OfferActivationController(Controller):
    path = "/v1/flex-offers"
    tags = ("forwarding",)
    security = SECURITY

    @post(
        "/{offer_id:str}/activations",
        operation_id="activateOfferLocally",
        status_code=201,
        responses=problems(404, 409, 415, 422),
    )
    async def activate(
        self,
        offer_id: Id,
        data: JSONBody[LocalActivationSubmit],
        caller: NamedDependency[Caller],
        forwarding: NamedDependency[ForwardingService],
    ) -> OfferActivation:
        """Activate (or reserve) an offer locally in one period, near real time, once its session
        is cleared (409 while it is open or its clearing runs, saying when activation becomes
        possible). 409 when the offer-period is forwarded to or activated by the TSO, or
        activated already: an offer is activated once per period. Every activation is published
        on `atp.v1.events.activations.{session_id}`."""
        return await forwarding.activate_local(caller, offer_id, data)

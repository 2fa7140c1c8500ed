from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from gateway.auth.caller import Caller
from gateway.domain.results.service import ResultService
from gateway.http.openapi import SECURITY, problems
from gateway.messages.common import Id
from gateway.messages.results import MarketResults


class ResultController(Controller):
    path = "/v1/market-sessions"
    tags = ("market-sessions",)
    security = SECURITY

    @get(
        "/{session_id:str}/results",
        operation_id="getMarketResults",
        responses=problems(404, 409),
    )
    async def get_results(
        self,
        session_id: Id,
        caller: NamedDependency[Caller],
        results: NamedDependency[ResultService],
    ) -> MarketResults:
        """Dispatch, nodal P and Q prices, grid state before and after, and payments of a
        cleared (or failed) session. The market operator and the zone's DSO see everything; a
        seller sees its own offers' dispatch and payments, a buyer its own requests' outcome,
        both with the public prices. 409 while the session is not cleared yet."""
        return await results.get(caller, session_id)

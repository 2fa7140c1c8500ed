from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from gateway.auth.caller import Caller
from gateway.domain.sessions.service import SessionService
from gateway.http.openapi import SECURITY, problems
from gateway.messages.common import Id
from gateway.messages.sessions import MarketSession, MarketSessionCreate, SessionState


class SessionController(Controller):
    path = "/v1/market-sessions"
    tags = ("market-sessions",)
    security = SECURITY

    @post("/", operation_id="openMarketSession", status_code=201, responses=problems(415, 422))
    async def open_session(
        self,
        data: JSONBody[MarketSessionCreate],
        caller: NamedDependency[Caller],
        sessions: NamedDependency[SessionService],
    ) -> MarketSession:
        """The market operator opens a session for a zone, a delivery window and a gate closure."""
        return await sessions.open(caller, data)

    @get("/", operation_id="listMarketSessions", responses=problems())
    async def list_sessions(
        self,
        caller: NamedDependency[Caller],
        sessions: NamedDependency[SessionService],
        zone_id: Annotated[Id | None, QueryParameter(name="zone_id")] = None,
        session_state: Annotated[SessionState | None, QueryParameter(name="state")] = None,
    ) -> list[MarketSession]:
        return await sessions.list_visible(caller, zone_id, session_state)

    @get("/{session_id:str}", operation_id="getMarketSession", responses=problems(404))
    async def get_session(
        self,
        session_id: Id,
        caller: NamedDependency[Caller],
        sessions: NamedDependency[SessionService],
    ) -> MarketSession:
        return await sessions.get(caller, session_id)

    @post(
        "/{session_id:str}/close",
        operation_id="closeMarketSession",
        status_code=200,
        responses=problems(404, 409, 415),
    )
    async def close_session(
        self,
        session_id: Id,
        caller: NamedDependency[Caller],
        sessions: NamedDependency[SessionService],
    ) -> MarketSession:
        """Close intake now (gate closure closes it anyway)."""
        return await sessions.close(caller, session_id)

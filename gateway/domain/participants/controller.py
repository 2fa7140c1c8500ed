from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from gateway.auth.caller import Caller
from gateway.domain.participants.service import ParticipantService
from gateway.http.openapi import SECURITY, problems
from gateway.messages.common import Id
from gateway.messages.participants import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyIssued,
    Participant,
    ParticipantCreate,
)


class ParticipantController(Controller):
    path = "/v1/participants"
    tags = ("participants",)
    security = SECURITY

    @post("/", operation_id="createParticipant", status_code=201, responses=problems(409, 415, 422))
    async def create(
        self,
        data: JSONBody[ParticipantCreate],
        caller: NamedDependency[Caller],
        participants: NamedDependency[ParticipantService],
    ) -> Participant:
        """Register a participant with its role (market operator only)."""
        return await participants.create(caller, data)

    @get("/", operation_id="listParticipants", responses=problems())
    async def list_all(
        self, caller: NamedDependency[Caller], participants: NamedDependency[ParticipantService]
    ) -> list[Participant]:
        """All participants for the market operator; the caller itself for everyone else."""
        return await participants.list_all(caller)

    @get("/me", operation_id="getCurrentParticipant", responses=problems())
    async def me(
        self, caller: NamedDependency[Caller], participants: NamedDependency[ParticipantService]
    ) -> Participant:
        return await participants.get(caller, caller.participant_id)

    @get("/{participant_id:str}", operation_id="getParticipant", responses=problems(404))
    async def get_one(
        self,
        participant_id: Id,
        caller: NamedDependency[Caller],
        participants: NamedDependency[ParticipantService],
    ) -> Participant:
        return await participants.get(caller, participant_id)


class ApiKeyController(Controller):
    path = "/v1/api-keys"
    tags = ("api-keys",)
    security = SECURITY

    @post("/", operation_id="issueApiKey", status_code=201, responses=problems(404, 415, 422))
    async def issue(
        self,
        data: JSONBody[ApiKeyCreate],
        caller: NamedDependency[Caller],
        participants: NamedDependency[ParticipantService],
    ) -> ApiKeyIssued:
        """Issue a key; the key is in the answer once and never again (only its hash is kept)."""
        return await participants.issue_key(caller, data)

    @get("/", operation_id="listApiKeys", responses=problems())
    async def list_keys(
        self,
        caller: NamedDependency[Caller],
        participants: NamedDependency[ParticipantService],
        participant_id: Annotated[Id | None, QueryParameter(name="participant_id")] = None,
    ) -> list[ApiKey]:
        """Keys by prefix, never in clear: the caller's own, or any for the market operator."""
        return await participants.list_keys(caller, participant_id)

    @delete("/{key_id:str}", operation_id="revokeApiKey", responses=problems(404))
    async def revoke(
        self,
        key_id: Id,
        caller: NamedDependency[Caller],
        participants: NamedDependency[ParticipantService],
    ) -> None:
        await participants.revoke_key(caller, key_id)

"""Participants and their API keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.auth import keys
from gateway.auth.authenticator import ApiKeyAuthenticator
from gateway.auth.caller import Caller
from gateway.auth.scopes import PARTICIPANTS_ADMIN, ROLE_SCOPES
from gateway.db.database import Database
from gateway.db.tables import api_key, participant
from gateway.domain.clock import Clock, new_id
from gateway.errors import Conflict, Forbidden, NotFound
from gateway.messages.common import Role
from gateway.messages.participants import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyIssued,
    Participant,
    ParticipantCreate,
)


def _participant(row: Sequence[Any]) -> Participant:
    return Participant(id=row[0], name=row[1], role=Role(row[2]), created_at=row[3])


def _api_key(row: Sequence[Any]) -> ApiKey:
    return ApiKey(
        id=row[0],
        participant_id=row[1],
        prefix=row[2],
        label=row[3],
        scopes=sorted(row[4].split()),
        created_at=row[5],
        revoked_at=row[6],
    )


_PARTICIPANT_COLS = (
    participant.c.id,
    participant.c.name,
    participant.c.role,
    participant.c.created_at,
)
_KEY_COLS = (
    api_key.c.id,
    api_key.c.participant_id,
    api_key.c.prefix,
    api_key.c.label,
    api_key.c.scopes,
    api_key.c.created_at,
    api_key.c.revoked_at,
)


class ParticipantService:
    def __init__(self, db: Database, clock: Clock, authenticator: ApiKeyAuthenticator) -> None:
        self._db = db
        self._clock = clock
        self._auth = authenticator

    async def create(self, caller: Caller, data: ParticipantCreate) -> Participant:
        caller.require(PARTICIPANTS_ADMIN)
        return await self.register(data)

    async def register(self, data: ParticipantCreate) -> Participant:
        created = Participant(id=new_id(), name=data.name, role=data.role, created_at=self._clock())
        try:
            async with self._db.begin() as conn:
                await conn.execute(
                    insert(participant).values(
                        id=created.id,
                        name=created.name,
                        role=created.role.value,
                        created_at=created.created_at,
                    )
                )
        except IntegrityError as exc:
            raise Conflict(f"a participant named {data.name!r} exists already") from exc
        return created

    async def list_all(self, caller: Caller) -> list[Participant]:
        query = select(*_PARTICIPANT_COLS).order_by(participant.c.created_at, participant.c.id)
        if not caller.is_fmo:
            query = query.where(participant.c.id == caller.participant_id)
        async with self._db.connect() as conn:
            return [_participant(row) for row in await conn.execute(query)]

    async def get(self, caller: Caller, participant_id: str) -> Participant:
        if not caller.is_fmo and participant_id != caller.participant_id:
            raise NotFound(f"participant {participant_id} not found")
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    select(*_PARTICIPANT_COLS).where(participant.c.id == participant_id)
                )
            ).first()
        if row is None:
            raise NotFound(f"participant {participant_id} not found")
        return _participant(row)

    async def issue_key(self, caller: Caller, data: ApiKeyCreate) -> ApiKeyIssued:
        target = data.participant_id or caller.participant_id
        if target != caller.participant_id and PARTICIPANTS_ADMIN not in caller.scopes:
            raise Forbidden("only the market operator issues keys for other participants")
        owner = await self.get(caller, target)
        return await self.issue_key_for(owner, data.label)

    async def issue_key_for(self, owner: Participant, label: str) -> ApiKeyIssued:
        issued = keys.issue_key()
        record = ApiKey(
            id=new_id(),
            participant_id=owner.id,
            prefix=issued.prefix,
            label=label,
            scopes=sorted(ROLE_SCOPES[owner.role]),
            created_at=self._clock(),
        )
        async with self._db.begin() as conn:
            await conn.execute(
                insert(api_key).values(
                    id=record.id,
                    participant_id=record.participant_id,
                    prefix=record.prefix,
                    secret_sha256=issued.sha256,
                    label=record.label,
                    scopes=" ".join(record.scopes),
                    created_at=record.created_at,
                )
            )
        return ApiKeyIssued(api_key=record, key=issued.key)

    async def list_keys(self, caller: Caller, participant_id: str | None) -> list[ApiKey]:
        query = select(*_KEY_COLS).order_by(api_key.c.created_at, api_key.c.id)
        if not caller.is_fmo:
            query = query.where(api_key.c.participant_id == caller.participant_id)
        if participant_id is not None:
            query = query.where(api_key.c.participant_id == participant_id)
        async with self._db.connect() as conn:
            return [_api_key(row) for row in await conn.execute(query)]

    async def revoke_key(self, caller: Caller, key_id: str) -> None:
        """Idempotent: revoking a revoked key changes nothing and succeeds."""
        query = select(api_key.c.participant_id).where(api_key.c.id == key_id)
        async with self._db.begin() as conn:
            owner = (await conn.execute(query)).scalar_one_or_none()
            if owner is None or (not caller.is_fmo and owner != caller.participant_id):
                raise NotFound(f"API key {key_id} not found")
            await conn.execute(
                update(api_key)
                .where(api_key.c.id == key_id, api_key.c.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
        self._auth.forget(key_id)

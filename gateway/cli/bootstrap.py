"""The first market operator: created from the command line, never from a default password."""

from __future__ import annotations

from gateway.auth.authenticator import ApiKeyAuthenticator
from gateway.db import migrate
from gateway.db.database import Database
from gateway.domain.clock import utc_now
from gateway.domain.participants.service import ParticipantService
from gateway.messages.common import Role
from gateway.messages.participants import ApiKeyIssued, Participant, ParticipantCreate
from gateway.settings import Settings


async def bootstrap_fmo(settings: Settings, name: str) -> tuple[Participant, ApiKeyIssued]:
    db = Database(settings.database_url)
    try:
        await migrate.upgrade(db.engine)
        service = ParticipantService(db, utc_now, ApiKeyAuthenticator(db, 0.0))
        participant = await service.register(ParticipantCreate(name=name, role=Role.FMO))
        return participant, await service.issue_key_for(participant, "bootstrap")
    finally:
        await db.dispose()

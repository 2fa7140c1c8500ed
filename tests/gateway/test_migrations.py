"""Alembic migrations on SQLite and PostgreSQL: empty → head → base → head, no drift from
`gateway.db.tables`, and the audit trail refuses UPDATE and DELETE in the database itself."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError

from gateway.db import migrate
from gateway.db.database import Database
from gateway.db.tables import (
    flex_order,
    grid_zone,
    market_session,
    metadata,
    order_audit,
    participant,
)
from tests.conftest import PG_ENV, _create_pg_database, _drop_pg_database

pytestmark = pytest.mark.integration

SCRIPTS = Path(migrate.__file__).parent / "migrations"


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, empty, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    admin = os.environ.get(PG_ENV)
    if not admin:
        pytest.skip(f"PostgreSQL tests skipped: {PG_ENV} is not set")
    url = asyncio.run(_create_pg_database(admin))
    yield url
    asyncio.run(_drop_pg_database(admin, url))


@pytest.fixture
async def db(empty_url: str) -> AsyncIterator[Database]:
    database = Database(empty_url)
    yield database
    await database.dispose()


async def _tables(db: Database) -> set[str]:
    async with db.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_upgrade_from_empty_to_head_and_down_to_base(db: Database) -> None:
    assert await _tables(db) == set(), "the database must start empty"

    await migrate.upgrade(db.engine)
    assert await migrate.current_revision(db.engine) == _head()
    assert set(metadata.tables) <= await _tables(db)

    await migrate.downgrade(db.engine, "base")
    assert await migrate.current_revision(db.engine) is None
    assert await _tables(db) <= {"alembic_version"}, "downgrade left tables behind"

    await migrate.upgrade(db.engine)  # and up again: the downgrade left nothing in the way
    assert set(metadata.tables) <= await _tables(db)


async def test_head_schema_has_no_drift_from_the_tables_module(db: Database) -> None:
    await migrate.upgrade(db.engine)
    async with db.connect() as conn:
        drift = await conn.run_sync(_drift)
    assert drift == [], (
        "the migrations and gateway/db/tables.py disagree; write a migration "
        f"(gateway.db.migrate.revision_autogenerate): {drift}"
    )


async def _one_audited_order(db: Database) -> None:
    now = datetime.now(UTC)
    async with db.begin() as conn:
        await conn.execute(
            insert(participant).values(id="p1", name="DSO", role="dso", created_at=now)
        )
        await conn.execute(insert(grid_zone).values(id="z1", name="Z", dso_id="p1", created_at=now))
        await conn.execute(
            insert(market_session).values(
                id="s1",
                zone_id="z1",
                name="S",
                delivery_start=now + timedelta(days=1),
                delivery_end=now + timedelta(days=2),
                resolution_minutes=60,
                gate_closure_at=now + timedelta(hours=1),
                state="open",
                created_at=now,
            )
        )
        await conn.execute(
            insert(flex_order).values(
                id="o1",
                kind="request",
                session_id="s1",
                zone_id="z1",
                submitter_id="p1",
                node_mrid="n1",
                status="active",
                submitted_at=now,
                updated_at=now,
                body="{}",
            )
        )
        await conn.execute(
            insert(order_audit).values(
                order_id="o1", at=now, actor_id="p1", action="submitted", to_status="active"
            )
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE order_audit SET action = 'forged'",
        "DELETE FROM order_audit",
    ],
)
async def test_audit_trail_refuses_update_and_delete(db: Database, statement: str) -> None:
    # Through a full round trip, so the downgrade's trigger removal and re-creation are tested.
    await migrate.upgrade(db.engine)
    await migrate.downgrade(db.engine, "base")
    await migrate.upgrade(db.engine)
    await _one_audited_order(db)

    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin() as conn:
            await conn.execute(text(statement))

    async with db.begin() as conn:  # appending still works, and nothing was changed
        await conn.execute(
            insert(order_audit).values(
                order_id="o1",
                at=datetime.now(UTC),
                actor_id="p1",
                action="withdrawn",
                from_status="active",
                to_status="withdrawn",
            )
        )
        actions = (await conn.execute(select(order_audit.c.action))).scalars().all()
        count = (await conn.execute(select(func.count()).select_from(order_audit))).scalar_one()
    assert sorted(actions) == ["submitted", "withdrawn"]
    assert count == 2

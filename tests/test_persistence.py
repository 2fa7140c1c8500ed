"""Migrations up and down on both backends; no API key is ever stored in clear."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError

from gateway.db import migrate
from gateway.db.database import Database
from gateway.db.tables import api_key, metadata
from tests.conftest import PG_ENV, _create_pg_database, _drop_pg_database
from tests.market import Market

pytestmark = pytest.mark.integration


async def _tables(db: Database) -> set[str]:
    async with db.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, empty: the migration test must not share one."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    admin = os.environ.get(PG_ENV)
    if not admin:
        pytest.skip(f"PostgreSQL tests skipped: {PG_ENV} is not set")
    url = asyncio.run(_create_pg_database(admin))
    yield url
    asyncio.run(_drop_pg_database(admin, url))


async def test_migrations_upgrade_from_empty_and_downgrade(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        assert await _tables(db) == set()
        await migrate.upgrade(db.engine)
        assert set(metadata.tables) <= await _tables(db)
        assert await migrate.current_revision(db.engine) == migrate.head_revision()
        await migrate.downgrade(db.engine, "base")
        assert await _tables(db) <= {"alembic_version"}
        await migrate.upgrade(db.engine)
        assert set(metadata.tables) <= await _tables(db)
    finally:
        await db.dispose()


async def test_no_api_key_in_clear(market: Market, database_url: str) -> None:
    await market.standard()
    keys = [market.fmo_key, *market.keys.values()]
    db = Database(database_url)
    try:
        async with db.connect() as conn:
            dump = []
            for table in metadata.sorted_tables:
                for row in await conn.execute(select(table)):
                    dump.extend(str(value) for value in row)
            stored = (await conn.execute(select(api_key.c.secret_sha256))).scalars().all()
    finally:
        await db.dispose()
    text_dump = "\n".join(dump)
    for key in keys:
        secret = key.split("_", 2)[2]
        assert key not in text_dump
        assert secret not in text_dump
    assert all(len(digest) == 64 for digest in stored)


async def test_audit_trail_is_append_only(market: Market, database_url: str) -> None:
    await market.standard()
    created = await market.call(
        "POST", "/v1/flex-offers", market.keys["agg"], market.offer_body("session")
    )
    assert created.status_code == 201
    db = Database(database_url)
    try:
        for statement in ("UPDATE order_audit SET action = 'forged'", "DELETE FROM order_audit"):
            with pytest.raises(DBAPIError, match="append-only"):
                async with db.begin() as conn:
                    await conn.execute(text(statement))
    finally:
        await db.dispose()

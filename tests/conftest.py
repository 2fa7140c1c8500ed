"""Shared fixtures: every gateway test runs against SQLite and against PostgreSQL.

PostgreSQL comes from FLEXGRID_TEST_DATABASE_URL (CI sets it). Unset, the PostgreSQL cases
skip with a visible reason; set but unreachable, they fail loudly.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from gateway.core import create_app
from gateway.settings import Settings
from tests.market import Market, MutableClock

PG_ENV = "FLEXGRID_TEST_DATABASE_URL"


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _create_pg_database(url: str) -> str:
    name = f"flexgrid_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(_pg_dsn(url), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {exc!r}", pytrace=False)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.rsplit("/", 1)[0] + "/" + name


async def _drop_pg_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(_pg_dsn(admin_url), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the test session, dropped afterwards."""
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(f"PostgreSQL tests skipped: {PG_ENV} is not set (SQLite runs instead)")
    url = asyncio.run(_create_pg_database(admin_url))
    yield url
    asyncio.run(_drop_pg_database(admin_url, url))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'flexgrid.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        rate_limit_per_s=0,
        session_sweep_s=0.05,
        # Tests that need engines start them (tests/engines/_runtime.py) or ask for them.
        engines="external",
    )


@pytest.fixture
async def client(settings: Settings, clock: MutableClock) -> AsyncIterator[AsyncTestClient]:
    app = create_app(settings, clock=clock)
    async with AsyncTestClient(app) as test_client:
        yield test_client


@pytest.fixture
async def market(client: AsyncTestClient, settings: Settings, clock: MutableClock) -> Market:
    return await Market.start(client, settings, clock)


def later(clock: MutableClock, **delta: float) -> datetime:
    return clock() + timedelta(**delta)

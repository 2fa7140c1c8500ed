"""Grid-model tests: the REST layer without NATS unless a test asks for it; imports run in a
thread (the process-pool runner has its own tests) so each app starts in milliseconds."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from gateway.settings import Settings
from tests.grid_models.driver import Models
from tests.market import Market


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        rate_limit_per_s=0,
        session_sweep_s=0.05,
        nats_enabled=False,
        engines="external",
        grid_import_workers=0,
    )


def with_settings(settings: Settings, **changes: object) -> Settings:
    return msgspec.structs.replace(settings, **changes)


@pytest.fixture
async def models(market: Market) -> Models:
    return await Models.start(market)

"""API keys: random, shown once, stored only as SHA-256 and prefix, revocable at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import MetaData, String, Text, select

from gateway.auth.keys import hash_key, prefix_of
from gateway.db.database import Database
from gateway.settings import Settings
from tests.market import Market

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """As the shared fixture, without NATS: nothing here needs messaging."""
    return Settings(
        database_url=database_url, data_dir=tmp_path, rate_limit_per_s=0, nats_enabled=False
    )


async def _every_text_value(database_url: str) -> list[str]:
    """Every text value of every table in the database (reflected, so new tables count too)."""
    db = Database(database_url)
    try:
        async with db.connect() as conn:
            reflected = MetaData()
            await conn.run_sync(reflected.reflect)
            values: list[str] = []
            for table in reflected.sorted_tables:
                columns = [c for c in table.columns if isinstance(c.type, String | Text)]
                if not columns:
                    continue
                for row in await conn.execute(select(*columns)):
                    values.extend(str(v) for v in row if v is not None)
            return values
    finally:
        await db.dispose()


async def test_no_key_is_stored_in_clear(market: Market, database_url: str) -> None:
    await market.standard()
    own = await market.call("POST", "/v1/api-keys", market.keys["agg"], {"label": "own"})
    assert own.status_code == 201
    keys = [market.fmo_key, *market.keys.values(), own.json()["key"]]

    values = await _every_text_value(database_url)

    assert values, "the dump read nothing"
    for key in keys:
        secret = key.split("_", 2)[2]
        leaks = [v for v in values if key in v or secret in v]
        assert not leaks, f"an API key is stored in clear: {leaks}"
        assert hash_key(key) in values, "its SHA-256 should be stored"
        assert prefix_of(key) in values, "its prefix should be stored"


async def test_the_key_is_shown_once_and_listing_shows_prefixes_only(market: Market) -> None:
    await market.participant("agg", "aggregator")
    issued = await market.call("POST", "/v1/api-keys", market.keys["agg"], {"label": "ci"})
    assert issued.status_code == 201
    key = issued.json()["key"]
    assert issued.json()["api_key"]["prefix"] == prefix_of(key)

    for caller in (market.keys["agg"], market.fmo_key):
        listed = await market.call("GET", "/v1/api-keys", caller)
        assert listed.status_code == 200
        secret = key.split("_", 2)[2]
        assert key not in listed.text
        assert secret not in listed.text
        assert hash_key(key) not in listed.text
        mine = [k for k in listed.json() if k["prefix"] == prefix_of(key)]
        assert len(mine) == 1
        assert set(mine[0]) == {
            "id",
            "participant_id",
            "prefix",
            "label",
            "scopes",
            "created_at",
            "revoked_at",
        }


async def test_two_keys_never_share_a_prefix_or_secret(market: Market) -> None:
    await market.participant("agg", "aggregator")
    keys = []
    for _ in range(20):
        issued = await market.call("POST", "/v1/api-keys", market.keys["agg"], {})
        assert issued.status_code == 201
        keys.append(issued.json()["key"])
    assert len({prefix_of(k) for k in keys}) == len(keys)
    assert len({k.split("_", 2)[2] for k in keys}) == len(keys)
    assert all(len(k.split("_", 2)[2]) >= 40 for k in keys), "at least 32 random bytes"


@pytest.mark.parametrize("revoker", ["owner", "fmo"])
async def test_a_revoked_key_is_refused_at_once(market: Market, revoker: str) -> None:
    await market.participant("agg", "aggregator")
    key_id, key = await market.key_for("agg")
    # Used once, so it sits in the authenticator's cache when it is revoked.
    assert (await market.call("GET", "/v1/participants/me", key)).status_code == 200

    revoking_key = key if revoker == "owner" else market.fmo_key
    revoked = await market.call("DELETE", f"/v1/api-keys/{key_id}", revoking_key)
    assert revoked.status_code == 204

    refused = await market.call("GET", "/v1/participants/me", key)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("ApiKey")
    assert key not in refused.text, "the problem must not echo the key"
    # The participant's other key still works, and revoking again changes nothing.
    assert (await market.call("GET", "/v1/participants/me", market.keys["agg"])).status_code == 200
    again = await market.call("DELETE", f"/v1/api-keys/{key_id}", market.fmo_key)
    assert again.status_code == 204
    listed = await market.call("GET", "/v1/api-keys", market.fmo_key)
    assert next(k for k in listed.json() if k["id"] == key_id)["revoked_at"] is not None


@pytest.mark.parametrize("role", ["dso", "tso", "aggregator", "esp", "retailer"])
async def test_a_non_fmo_cannot_revoke_another_participants_key(market: Market, role: str) -> None:
    await market.participant("victim", "aggregator")
    await market.participant("other", role)
    key_id, key = await market.key_for("victim")

    attempt = await market.call("DELETE", f"/v1/api-keys/{key_id}", market.keys["other"])

    assert attempt.status_code == 404, "another participant's key does not exist for the caller"
    assert (await market.call("GET", "/v1/participants/me", key)).status_code == 200
    listed = await market.call("GET", "/v1/api-keys", market.keys["other"])
    assert key_id not in {k["id"] for k in listed.json()}


async def test_a_key_carries_the_scopes_of_its_role(market: Market) -> None:
    await market.participant("retailer", "retailer")
    listed = await market.call("GET", "/v1/api-keys", market.keys["retailer"])
    assert listed.status_code == 200
    (key,) = listed.json()
    assert "participants:admin" not in key["scopes"]
    assert "offers:write" not in key["scopes"]
    assert {"keys:self", "zones:read", "sessions:read"} <= set(key["scopes"])

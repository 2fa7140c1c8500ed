"""Bad uploads get problem details naming file, mRID and attribute, and store nothing: no
model version, no node change, no job, no pending upload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from gateway.core import create_app
from gateway.settings import Settings
from tests.grid_models.conftest import with_settings
from tests.grid_models.driver import Models, cigre_files, stored_state, zipped
from tests.market import Market, MutableClock

pytestmark = pytest.mark.integration

Files = dict[str, bytes]


def _eq_name(files: Files) -> str:
    return next(n for n in files if n.endswith("_EQ.xml"))


def _edit(old: bytes, new: bytes) -> Callable[[Files], Files]:
    def apply(files: Files) -> Files:
        name = _eq_name(files)
        assert old in files[name]
        return {**files, name: files[name].replace(old, new, 1)}

    return apply


def _truncate(files: Files) -> Files:
    name = _eq_name(files)
    return {**files, name: files[name][:5000]}


def _without_eq(files: Files) -> Files:
    return {n: d for n, d in files.items() if not n.endswith("_EQ.xml")}


# (mutation, expected code, expected file is the EQ profile, mRID, attribute)
CASES: dict[str, tuple[Callable[[Files], Files], str, bool, str | None, str | None]] = {
    "malformed_xml": (_truncate, "malformed_xml", True, None, None),
    "wrong_namespace": (
        _edit(b"http://iec.ch/TC57/2012/CIM-schema-cim16#", b"http://iec.ch/TC57/CIM100#"),
        "wrong_namespace",
        True,
        None,
        None,
    ),
    "non_utf8": (
        _edit(b"<cim:IdentifiedObject.name>L12-13<", b"<cim:IdentifiedObject.name>L\xe912-13<"),
        "not_utf8",
        True,
        None,
        None,
    ),
    "dangling_reference": (
        _edit(
            b'<cim:Terminal.ConductingEquipment rdf:resource="#Load7-I"/>',
            b'<cim:Terminal.ConductingEquipment rdf:resource="#nowhere"/>',
        ),
        "dangling_reference",
        True,
        "E-288",
        "Terminal.ConductingEquipment",
    ),
    "missing_attribute": (
        _edit(b"<cim:ACLineSegment.x>1.750620</cim:ACLineSegment.x>", b""),
        "missing_attribute",
        False,
        "L12-13",
        "ACLineSegment.x",
    ),
    "negative_length": (
        _edit(b"<cim:Conductor.length>4.890000", b"<cim:Conductor.length>-4.89"),
        "negative_length",
        False,
        "L12-13",
        "Conductor.length",
    ),
}


async def _prepared(models: Models, settings: Settings) -> dict[str, Any]:
    # One good version first, so "unchanged" means more than "still empty".
    assert (await models.upload()).status_code == 201
    return await stored_state(settings.database_url, models.zone_id)


@pytest.mark.parametrize("case", sorted(CASES))
async def test_bad_cim_is_422_naming_where_and_stores_nothing(
    case: str, models: Models, settings: Settings
) -> None:
    mutate, code, in_eq, mrid, attribute = CASES[case]
    before = await _prepared(models, settings)
    files = mutate(cigre_files())
    response = await models.upload(files)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422
    assert problem["instance"] == models.base
    first = problem["errors"][0]
    assert first["code"] == code, problem
    if in_eq:
        assert first["file"] == _eq_name(files)
        assert f"file:{first['file']}" in first["location"]
    if mrid is not None:
        assert first["mrid"] == mrid
        assert f"mrid:{mrid}" in first["location"]
    if attribute is not None:
        assert first["attribute"] == attribute
        assert f"attribute:{attribute}" in first["location"]
    assert await stored_state(settings.database_url, models.zone_id) == before


async def test_missing_equipment_profile_is_named(models: Models, settings: Settings) -> None:
    before = await _prepared(models, settings)
    response = await models.upload(_without_eq(cigre_files()))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert any(e["code"] == "missing_profile" and e["attribute"] == "EQ" for e in errors), errors
    assert await stored_state(settings.database_url, models.zone_id) == before


async def test_zip_bomb_is_413_naming_the_member(models: Models, settings: Settings) -> None:
    before = await _prepared(models, settings)
    bomb = zipped({"bomb.xml": b"<" + b" " * 50_000_000})
    assert len(bomb) < 100_000
    response = await models.upload({"bomb.zip": bomb})
    assert response.status_code == 413, response.text
    first = response.json()["errors"][0]
    assert (first["code"], first["file"]) == ("zip_bomb", "bomb.zip/bomb.xml")
    assert await stored_state(settings.database_url, models.zone_id) == before


async def test_corrupt_zip_is_422(models: Models, settings: Settings) -> None:
    before = await _prepared(models, settings)
    response = await models.upload_zip(b"PK\x03\x04" + b"\x00" * 200)
    assert response.status_code == 422, response.text
    first = response.json()["errors"][0]
    assert (first["code"], first["file"]) == ("bad_zip", "model.zip")
    assert await stored_state(settings.database_url, models.zone_id) == before


async def test_oversized_upload_is_413_before_it_is_read(
    settings: Settings, clock: MutableClock
) -> None:
    small = with_settings(settings, max_upload_bytes=100_000)
    async with AsyncTestClient(create_app(small, clock=clock)) as client:
        market = await Market.start(client, small, clock)
        models = await Models.start(market)
        before = await stored_state(small.database_url, models.zone_id)
        for upload in (models.upload(), models.upload_zip(b"PK\x03\x04" + b"\x00" * 200_000)):
            response = await upload
            assert response.status_code == 413, response.text
            problem = response.json()
            assert problem["status"] == 413
            assert "100000 bytes" in problem["detail"]
        assert await stored_state(small.database_url, models.zone_id) == before
        # Under the limit the same zone still takes an upload.
        files = {n: d for n, d in cigre_files().items() if not n.endswith("_DI.xml")}
        assert sum(len(d) for d in files.values()) < 200_000
        ok = await models.upload_zip(zipped(files))
        assert ok.status_code == 201, ok.text


async def test_uncompressed_total_limit_is_413(settings: Settings, clock: MutableClock) -> None:
    tight = with_settings(settings, max_model_bytes=150_000)
    async with AsyncTestClient(create_app(tight, clock=clock)) as client:
        market = await Market.start(client, tight, clock)
        models = await Models.start(market)
        response = await models.upload_zip(zipped(cigre_files()))
        assert response.status_code == 413, response.text
        assert response.json()["errors"][0]["code"] in {"zip_too_large", "upload_too_large"}
        assert (await stored_state(tight.database_url, models.zone_id))["models"] == 0

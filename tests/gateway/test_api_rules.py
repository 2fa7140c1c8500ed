"""The API rules of the design: JSON only (415), problem+json errors, compression negotiated by
Accept-Encoding, `?pretty=`, WWW-Authenticate on 401, 429 + Retry-After per key."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest
from litestar.testing import AsyncTestClient

from gateway.core import create_app
from gateway.settings import Settings
from tests.market import Market, MutableClock

pytestmark = pytest.mark.integration

OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
_DOCUMENT = json.loads(OPENAPI.read_text())
POST_ROUTES = sorted(
    (operation["operationId"], path)
    for path, item in _DOCUMENT["paths"].items()
    for method, operation in item.items()
    if method == "post"
)
PROBLEM_FIELDS = {"type", "title", "status", "detail"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """As the shared fixture, without NATS: nothing here needs messaging."""
    return Settings(
        database_url=database_url, data_dir=tmp_path, rate_limit_per_s=0, nats_enabled=False
    )


def _fill(path: str) -> str:
    """Any well-formed identifier: the media type is refused before anything is looked up."""
    return path.replace("{", "").replace("}", "").replace("_id", f"-{uuid.uuid4().hex[:8]}")


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert PROBLEM_FIELDS <= set(problem), f"missing fields in {problem}"
    assert problem["status"] == status
    assert problem["type"].startswith("https://"), problem["type"]
    assert problem["title"]
    assert isinstance(problem["detail"], str)
    assert problem["detail"]
    return problem


# --- 415 ----------------------------------------------------------------------------------

NOT_JSON = [
    pytest.param("text/plain", b'{"name": "x"}', id="text-plain"),
    pytest.param("application/x-www-form-urlencoded", b"name=x&role=dso", id="form"),
    pytest.param("multipart/form-data; boundary=b", b"--b\r\n\r\nx\r\n--b--\r\n", id="multipart"),
]


@pytest.mark.parametrize(("content_type", "body"), NOT_JSON)
@pytest.mark.parametrize(("operation_id", "path"), POST_ROUTES)
async def test_a_body_that_is_not_json_gets_415(
    market: Market, operation_id: str, path: str, content_type: str, body: bytes
) -> None:
    declared = _DOCUMENT["paths"][path]["post"].get("requestBody", {}).get("content", {})
    if content_type.split(";")[0] in declared:
        pytest.skip(f"{operation_id} takes {content_type.split(';')[0]} (grid-model uploads)")
    response = await market.client.post(
        _fill(path),
        content=body,
        headers={"Content-Type": content_type, "X-API-Key": market.fmo_key},
    )
    problem = _assert_problem(response, 415)
    assert content_type.split(";")[0] in problem["detail"]


@pytest.mark.parametrize(("operation_id", "path"), POST_ROUTES)
def test_every_post_route_documents_415(operation_id: str, path: str) -> None:
    """Every POST answers 415 to a non-JSON body (the hook is global), so each must say so."""
    responses = _DOCUMENT["paths"][path]["post"]["responses"]
    assert "415" in responses, f"{operation_id} answers 415 but does not document it"


async def test_json_with_charset_and_json_suffix_types_are_accepted(market: Market) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await market.client.post(
            "/v1/participants",
            content=json.dumps({"name": f"p-{uuid.uuid4().hex[:8]}", "role": "esp"}),
            headers={"Content-Type": content_type, "X-API-Key": market.fmo_key},
        )
        assert response.status_code == 201, (content_type, response.text)


# --- problem+json -------------------------------------------------------------------------


async def test_errors_are_problem_details(market: Market) -> None:
    await market.participant("retailer", "retailer")
    fmo, retailer = market.fmo_key, market.keys["retailer"]
    name = f"dup-{uuid.uuid4().hex[:8]}"
    assert (
        await market.call("POST", "/v1/participants", fmo, {"name": name, "role": "dso"})
    ).status_code == 201
    cases: list[tuple[int, str, str, str | None, Any]] = [
        (401, "GET", "/v1/participants/me", None, None),
        (403, "POST", "/v1/participants", retailer, {"name": "x", "role": "dso"}),
        (404, "GET", "/v1/grid-zones/no-such-zone", fmo, None),
        (404, "GET", "/v1/no-such-route", fmo, None),
        (405, "PUT", "/v1/participants/me", fmo, None),
        (409, "POST", "/v1/participants", fmo, {"name": name, "role": "dso"}),
        (422, "POST", "/v1/participants", fmo, {"name": "x", "role": "king"}),
        (400, "GET", "/v1/flex-offers?limit=0", fmo, None),
    ]
    for status, method, path, key, body in cases:
        response = await market.call(method, path, key, body)
        problem = _assert_problem(response, status)
        assert problem.get("instance", path.split("?")[0]) == path.split("?")[0]


async def test_malformed_json_is_a_problem_not_a_crash(market: Market) -> None:
    response = await market.client.post(
        "/v1/participants",
        content=b'{"name": ',
        headers={"Content-Type": "application/json", "X-API-Key": market.fmo_key},
    )
    assert response.status_code in (400, 422), response.text
    _assert_problem(response, response.status_code)


async def test_a_validation_problem_names_the_field(market: Market) -> None:
    response = await market.call(
        "POST", "/v1/participants", market.fmo_key, {"name": "x", "role": "dso", "extra": 1}
    )
    problem = _assert_problem(response, 422)
    assert problem["errors"], problem
    assert all({"location", "message"} <= set(e) for e in problem["errors"])


# --- compression and ?pretty= ------------------------------------------------------------


async def _large_zone(market: Market) -> str:
    await market.participant("dso", "dso")
    nodes = [{"mrid": f"bus-{i:04d}", "name": f"Bus {i}", "vn_kv": 20.0} for i in range(300)]
    response = await market.call(
        "POST",
        "/v1/grid-zones",
        market.keys["dso"],
        {"name": f"big-{uuid.uuid4().hex[:8]}", "nodes": nodes},
    )
    assert response.status_code == 201, response.text
    return f"/v1/grid-zones/{response.json()['id']}/nodes?limit=1000"


async def _raw(client: AsyncTestClient[Any], path: str, headers: dict[str, str]) -> Any:
    """Status, headers and the body as it came over the wire (not decoded by httpx)."""
    async with client.stream("GET", path, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
        return response.status_code, response.headers, body


@pytest.mark.parametrize(
    ("accept_encoding", "encoding", "decode"),
    [
        pytest.param("gzip", "gzip", gzip.decompress, id="gzip"),
        pytest.param("br", "br", brotli.decompress, id="brotli"),
        pytest.param("gzip, br", "br", brotli.decompress, id="brotli-preferred"),
    ],
)
async def test_compression_is_negotiated(
    market: Market, accept_encoding: str, encoding: str, decode: Any
) -> None:
    path = await _large_zone(market)
    key = {"X-API-Key": market.keys["dso"]}
    status, headers, plain = await _raw(market.client, path, {**key, "Accept-Encoding": "identity"})
    assert status == 200
    assert "content-encoding" not in headers
    assert len(plain) > 10_000, "the response must be large enough to be compressed"

    status, headers, compressed = await _raw(
        market.client, path, {**key, "Accept-Encoding": accept_encoding}
    )
    assert status == 200
    assert headers["content-encoding"] == encoding
    assert "accept-encoding" in headers.get("vary", "").lower()
    assert len(compressed) < len(plain) / 3
    assert json.loads(decode(compressed)) == json.loads(plain)
    assert len(json.loads(plain)["items"]) == 300


async def test_small_responses_are_not_compressed(market: Market) -> None:
    status, headers, _ = await _raw(
        market.client,
        "/v1/participants/me",
        {"X-API-Key": market.fmo_key, "Accept-Encoding": "gzip, br"},
    )
    assert status == 200
    assert "content-encoding" not in headers


@pytest.mark.parametrize(
    ("path", "status"),
    [("/v1/participants/me", 200), ("/v1/grid-zones/no-such-zone", 404)],
)
async def test_pretty_indents_json(market: Market, path: str, status: int) -> None:
    compact = await market.call("GET", path, market.fmo_key)
    pretty = await market.call("GET", f"{path}?pretty=true", market.fmo_key)
    assert compact.status_code == pretty.status_code == status
    assert b"\n" not in compact.content
    assert b'\n  "' in pretty.content, pretty.text
    assert pretty.headers["content-type"] == compact.headers["content-type"]
    compact_json, pretty_json = compact.json(), pretty.json()
    compact_json.pop("instance", None)
    pretty_json.pop("instance", None)
    assert pretty_json == compact_json


# --- 401 and 429 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-key"),
        pytest.param({"X-API-Key": "not-a-key"}, id="malformed"),
        pytest.param({"X-API-Key": "fgk_000000000000_" + "a" * 43}, id="unknown"),
        pytest.param({"Authorization": "Bearer abc"}, id="wrong-scheme"),
        pytest.param({"Authorization": "ApiKey "}, id="empty"),
    ],
)
async def test_401_carries_www_authenticate(market: Market, headers: dict[str, str]) -> None:
    response = await market.client.get("/v1/participants/me", headers=headers)
    _assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'ApiKey realm="flexgrid"'


async def test_both_key_headers_authenticate(market: Market) -> None:
    for headers in ({"X-API-Key": market.fmo_key}, {"Authorization": f"ApiKey {market.fmo_key}"}):
        assert (await market.client.get("/v1/participants/me", headers=headers)).status_code == 200


@pytest.fixture
async def limited(database_url: str, tmp_path: Path, clock: MutableClock) -> AsyncIterator[Market]:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        rate_limit_per_s=1,
        rate_limit_burst=2,
        nats_enabled=False,
    )
    async with AsyncTestClient(create_app(settings, clock=clock)) as client:
        yield await Market.start(client, settings, clock)


async def test_429_with_retry_after_when_a_key_exceeds_its_rate(limited: Market) -> None:
    statuses = []
    for _ in range(3):
        response = await limited.call("GET", "/v1/participants/me", limited.fmo_key)
        statuses.append(response.status_code)
    assert statuses == [200, 200, 429]
    _assert_problem(response, 429)
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 2

    # The bucket is per key: a fresh key of the same participant is served.
    issued = await limited.client.post(
        "/v1/api-keys", json={}, headers={"Authorization": f"ApiKey {limited.fmo_key}"}
    )
    assert issued.status_code == 429, "the first key is still over its limit"
    _, other_key = await _bootstrap_second_key(limited)
    assert (await limited.call("GET", "/v1/participants/me", other_key)).status_code == 200


async def _bootstrap_second_key(market: Market) -> tuple[str, str]:
    from gateway.cli.bootstrap import bootstrap_fmo

    settings = market.client.app.state.components.settings
    _, issued = await bootstrap_fmo(settings, f"FMO {uuid.uuid4().hex[:8]}")
    return issued.api_key.id, issued.key

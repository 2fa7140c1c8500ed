"""Authorization matrix: every role (and no key, and a revoked key) against every route.

One market is built per backend and shared by the module; a cell that changes state (withdraw,
close, revoke, decide, upload, forward, activate) first makes a fresh object of its own, so cells
stay independent.
The route of a cell comes from the committed OpenAPI document by operationId, so the test
calls exactly the documented method and path, and a new route cannot escape the matrix.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from gateway.core import create_app
from gateway.db.database import Database
from gateway.db.tables import market_session
from gateway.messages.sessions import SessionState
from gateway.settings import Settings
from tests.cim.samples import CIGRE_MV, xml_files
from tests.market import NODES, Market, MutableClock

pytestmark = pytest.mark.integration
# The async tests share the module's market, so they share its event loop.
in_module_loop = pytest.mark.asyncio(loop_scope="module")

OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
_DOCUMENT = json.loads(OPENAPI.read_text())
ROUTES: dict[str, tuple[str, str]] = {
    operation["operationId"]: (method.upper(), path)
    for path, item in _DOCUMENT["paths"].items()
    for method, operation in item.items()
}

# Expected status per (operation, actor). The cast: `dso` owns `zone` and its `session`;
# `agg` owns the asset and the offer in `zone`; `dso` submitted the request there.
# `dso` also owns `model zone`, whose version 1 is the CIGRE MV model: a session there with no
# orders clears at once when closed (no engine runs here), which makes the cleared sessions;
# `dso` forwarded one of them. The market operator ran the architecture run.
# `anon` sends no key; `revoked` sends a revoked key of the market operator.
ACTORS = ("fmo", "dso", "tso", "agg", "esp", "retailer", "anon", "revoked")
MATRIX_TEXT = """
operation                        target                     fmo dso tso agg esp retailer anon revoked
getHealth                        -                          200 200 200 200 200 200      200  200
listParticipants                 -                          200 200 200 200 200 200      401  401
createParticipant                new retailer               201 403 403 403 403 403      401  401
getCurrentParticipant            -                          200 200 200 200 200 200      401  401
getParticipant                   agg                        200 404 404 200 404 404      401  401
listApiKeys                      -                          200 200 200 200 200 200      401  401
issueApiKey                      key for agg                201 403 403 201 403 403      401  401
revokeApiKey                     fresh key of agg           204 404 404 204 404 404      401  401
listGridZones                    -                          200 200 200 200 200 200      401  401
createGridZone                   new zone for dso           201 201 403 403 403 403      401  401
getGridZone                      zone                       200 200 200 200 200 200      401  401
listGridNodes                    zone                       200 200 200 200 200 200      401  401
listFlexAssets                   -                          200 200 403 200 200 403      401  401
registerFlexAsset                new asset in zone          403 403 403 201 201 403      401  401
getFlexAsset                     agg's asset in zone        200 200 403 200 404 403      401  401
decideFlexAssetPrequalification  fresh pending agg asset    200 200 403 403 403 403      401  401
listMarketSessions               -                          200 200 200 200 200 200      401  401
openMarketSession                new session in zone        201 403 403 403 403 403      401  401
getMarketSession                 session                    200 200 200 200 200 200      401  401
closeMarketSession               fresh session in zone      200 403 403 403 403 403      401  401
listFlexRequests                 -                          200 200 200 403 403 403      401  401
submitFlexRequest                new request in session     403 201 201 403 403 403      401  401
getFlexRequest                   dso's request              200 200 404 403 403 403      401  401
withdrawFlexRequest              fresh dso request          403 200 404 403 403 403      401  401
listFlexOffers                   -                          200 200 403 200 200 403      401  401
submitFlexOffer                  new offer in session       403 403 403 201 201 403      401  401
getFlexOffer                     agg's offer                200 200 403 200 404 403      401  401
withdrawFlexOffer                fresh agg offer            403 403 403 200 404 403      401  401
listJobs                         -                          200 200 200 200 200 200      401  401
submitJob                        new job                    202 202 202 202 202 202      401  401
getJob                           agg's job                  200 404 404 200 404 404      401  401
getJobResult                     agg's cancelled job        200 404 404 200 404 404      401  401
cancelJob                        fresh agg job              200 404 404 200 404 404      401  401
streamJobEvents                  agg's job                  200 404 404 200 404 404      401  401
uploadGridModel                  fresh zone of dso          201 201 403 403 403 403      401  401
listGridModels                   model zone                 200 200 200 200 200 200      401  401
getGridModel                     model zone v1              200 200 200 200 200 200      401  401
listGridModelNodes               model zone v1              200 200 200 200 200 200      401  401
listGridModelLines               model zone v1              200 200 403 403 403 403      401  401
exportGridModel                  model zone v1 pandapower   200 200 403 403 403 403      401  401
getMarketResults                 cleared session            200 200 200 200 200 200      401  401
forwardToTso                     fresh cleared session      202 202 403 403 403 403      401  401
getForwarding                    forwarded session          200 200 200 200 200 200      401  401
listActivations                  session                    200 200 200 200 200 200      401  401
activateOfferLocally             fresh agg offer            201 201 403 403 403 403      401  401
runMarketArchitecture            new run                    202 403 403 403 403 403      401  401
compareMarketArchitectures       new comparison             202 403 403 403 403 403      401  401
getMarketArchitectureRun         fmo's run                  200 404 404 404 404 404      401  401
"""


def _parse_matrix(text: str) -> dict[str, dict[str, int]]:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    header = lines[0].split()
    assert tuple(header[2:]) == ACTORS, header
    matrix: dict[str, dict[str, int]] = {}
    for line in lines[1:]:
        words = line.split()
        operation, codes = words[0], words[-len(ACTORS) :]
        assert operation not in matrix, f"{operation} twice in the matrix"
        matrix[operation] = dict(zip(ACTORS, (int(c) for c in codes), strict=True))
    return matrix


MATRIX = _parse_matrix(MATRIX_TEXT)


@dataclass(frozen=True)
class Call:
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    # Multipart file parts (name, (filename, content, media type)); sent instead of `body`.
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None


@dataclass
class World:
    market: Market
    revoked_key: str

    def id(self, alias: str) -> str:
        return self.market.ids[alias]

    def key(self, actor: str) -> str | None:
        match actor:
            case "fmo":
                return self.market.fmo_key
            case "anon":
                return None
            case "revoked":
                return self.revoked_key
            case _:
                return self.market.keys[actor]

    async def send(self, operation_id: str, actor: str, call: Call) -> Any:
        method, template = ROUTES[operation_id]
        path = template.format(**call.params)
        headers = {} if (key := self.key(actor)) is None else {"X-API-Key": key}
        return await self.market.client.request(
            method, path, json=call.body, params=call.query, headers=headers, files=call.files
        )


Arrange = Callable[[World], Awaitable[Call]]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _none(_: World) -> Call:
    return Call()


async def _new_participant(_: World) -> Call:
    return Call(body={"name": _unique("retailer"), "role": "retailer"})


async def _participant_agg(w: World) -> Call:
    return Call({"participant_id": w.id("agg")})


async def _key_for_agg(w: World) -> Call:
    return Call(body={"participant_id": w.id("agg"), "label": "matrix"})


async def _fresh_key_of_agg(w: World) -> Call:
    key_id, _ = await w.market.key_for("agg")
    return Call({"key_id": key_id})


async def _new_zone_for_dso(w: World) -> Call:
    return Call(body={"name": _unique("zone"), "dso_id": w.id("dso"), "nodes": NODES[:2]})


async def _zone(w: World) -> Call:
    return Call({"zone_id": w.id("zone")})


async def _new_asset(w: World) -> Call:
    return Call(
        body={
            "name": _unique("asset"),
            "zone_id": w.id("zone"),
            "node_mrid": "node-1",
            "kind": "pv",
            "p_max_mw": 1.0,
        }
    )


async def _agg_asset(w: World) -> Call:
    return Call({"asset_id": w.id("asset")})


async def _fresh_pending_asset(w: World) -> Call:
    asset_id = await w.market.asset("agg", "zone")
    return Call({"asset_id": asset_id}, body={"decision": "confirmed", "reason": "tested"})


async def _new_session(w: World) -> Call:
    gate_closure = w.market.clock() + timedelta(hours=1)
    return Call(
        body={
            "zone_id": w.id("zone"),
            "name": _unique("session"),
            "delivery": w.market.window(),
            "gate_closure_at": gate_closure.isoformat(),
        }
    )


async def _session(w: World) -> Call:
    return Call({"session_id": w.id("session")})


async def _fresh_session(w: World) -> Call:
    return Call({"session_id": await w.market.session(_unique("s"), "zone")})


async def _new_request(w: World) -> Call:
    return Call(body=w.market.request_body("session"))


async def _dso_request(w: World) -> Call:
    return Call({"order_id": w.id("request")})


async def _fresh_dso_request(w: World) -> Call:
    return Call({"order_id": await w.market.flex_request("dso", "session")})


async def _new_offer(w: World) -> Call:
    return Call(body=w.market.offer_body("session"))


async def _agg_offer(w: World) -> Call:
    return Call({"order_id": w.id("offer")})


async def _fresh_agg_offer(w: World) -> Call:
    return Call({"order_id": await w.market.flex_offer("agg", "session")})


ENGINE_KIND = "matrix-engine"


async def _new_job(_: World) -> Call:
    return Call(body={"kind": ENGINE_KIND, "input": {"periods": 24}})


async def _agg_job(w: World) -> Call:
    return Call({"job_id": w.id("job")})


async def _agg_cancelled_job(w: World) -> Call:
    return Call({"job_id": w.id("cancelled_job")})


async def _fresh_agg_job(w: World) -> Call:
    return Call({"job_id": await _submit_job(w.market, "agg")})


async def _submit_job(market: Market, alias: str) -> str:
    response = await market.call(
        "POST", "/v1/jobs", market.keys[alias], {"kind": ENGINE_KIND, "input": {}}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


# --- grid models, results, forwarding, architectures ----------------------------------------

# The small CIGRE MV sample (CGMES 2.4.15, as cimpy ships it), read once for the module.
CIGRE_PARTS = [("files", (p.name, p.read_bytes(), "application/xml")) for p in xml_files(CIGRE_MV)]


async def _upload_cigre(market: Market, zone_id: str, key: str) -> Any:
    return await market.client.post(
        f"/v1/grid-zones/{zone_id}/models", files=CIGRE_PARTS, headers={"X-API-Key": key}
    )


async def _fresh_zone_of_dso(w: World) -> Call:
    # A zone of its own: an upload replaces the zone's node list, which other cells rely on.
    zone_id = await w.market.zone(_unique("zone"), "dso")
    return Call({"zone_id": zone_id}, files=CIGRE_PARTS)


async def _model_zone(w: World) -> Call:
    return Call({"zone_id": w.id("model_zone")})


async def _model_zone_v1(w: World) -> Call:
    return Call({"zone_id": w.id("model_zone"), "version": "1"})


async def _model_zone_v1_pandapower(w: World) -> Call:
    # pandapower JSON: no power flow for an SV profile, so the cell stays quick.
    return Call({"zone_id": w.id("model_zone"), "version": "1"}, query={"format": "pandapower"})


async def _cleared_session_in(market: Market, zone_alias: str) -> str:
    """A session with no orders, closed by the market operator: a zone with a network records
    its (empty) clearing at once, so the session is cleared without an engine."""
    session_id = await market.session(_unique("cleared"), zone_alias)
    closed = await market.call(
        "POST", f"/v1/market-sessions/{session_id}/close", market.fmo_key, {}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "cleared", closed.text
    return session_id


async def _cleared_session(w: World) -> Call:
    return Call({"session_id": w.id("cleared_session")})


FORWARDING_BODY = {"product": "mFRR", "needs": [{"period_index": 0, "need_mw": 1.0}]}


async def _fresh_cleared_session(w: World) -> Call:
    session_id = await _cleared_session_in(w.market, "model_zone")
    return Call({"session_id": session_id}, body=FORWARDING_BODY)


async def _forwarded_session(w: World) -> Call:
    return Call({"session_id": w.id("forwarded_session")})


async def _cleared_by_hand(market: Market, session_alias: str) -> None:
    """Close a session with orders and mark it cleared, as the job-end hook would: offers are
    activated only in a cleared session, and clearing one with orders needs an engine (this
    world runs none; the clearing itself is tested in tests/clearing)."""
    session_id = market.ids[session_alias]
    closed = await market.call("POST", f"/v1/market-sessions/{session_id}/close", market.fmo_key)
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "closed", closed.text  # the zone has no network: it waits
    # A pool of its own: the app's pool belongs to the test client's event loop.
    db = Database(market.client.app.state.components.settings.database_url)
    try:
        async with db.begin() as conn:
            await conn.execute(
                update(market_session)
                .where(market_session.c.id == session_id)
                .values(state=SessionState.CLEARED.value)
            )
    finally:
        await db.dispose()


async def _fresh_agg_offer_to_activate(w: World) -> Call:
    # An offer of its own in a session of its own, cleared (by hand: see `_cleared_by_hand`).
    alias = _unique("activation_session")
    await w.market.session(alias, "zone")
    offer_id = await w.market.flex_offer("agg", alias)
    await _cleared_by_hand(w.market, alias)
    # The offer's window is the session's first two periods; it offers 0.8 MW up.
    return Call({"offer_id": offer_id}, body={"period_index": 0, "direction": "up", "p_mw": 0.5})


# A small scenario (two periods): a run that starts is only a queued job here anyway.
SCENARIO = {"network": "case30", "coupling_bus": "29", "first_period": 17, "periods": 2}


async def _new_run(_: World) -> Call:
    return Call(body={"architecture": "reactive", "scenario": SCENARIO})


async def _new_comparison(_: World) -> Call:
    return Call(body={"scenario": SCENARIO, "include_central": True})


async def _fmo_run(w: World) -> Call:
    return Call({"run_id": w.id("run")})


ARRANGE: dict[str, Arrange] = {
    "getHealth": _none,
    "listParticipants": _none,
    "createParticipant": _new_participant,
    "getCurrentParticipant": _none,
    "getParticipant": _participant_agg,
    "listApiKeys": _none,
    "issueApiKey": _key_for_agg,
    "revokeApiKey": _fresh_key_of_agg,
    "listGridZones": _none,
    "createGridZone": _new_zone_for_dso,
    "getGridZone": _zone,
    "listGridNodes": _zone,
    "listFlexAssets": _none,
    "registerFlexAsset": _new_asset,
    "getFlexAsset": _agg_asset,
    "decideFlexAssetPrequalification": _fresh_pending_asset,
    "listMarketSessions": _none,
    "openMarketSession": _new_session,
    "getMarketSession": _session,
    "closeMarketSession": _fresh_session,
    "listFlexRequests": _none,
    "submitFlexRequest": _new_request,
    "getFlexRequest": _dso_request,
    "withdrawFlexRequest": _fresh_dso_request,
    "listFlexOffers": _none,
    "submitFlexOffer": _new_offer,
    "getFlexOffer": _agg_offer,
    "withdrawFlexOffer": _fresh_agg_offer,
    "listJobs": _none,
    "submitJob": _new_job,
    "getJob": _agg_job,
    "getJobResult": _agg_cancelled_job,
    "cancelJob": _fresh_agg_job,
    "streamJobEvents": _agg_job,
    "uploadGridModel": _fresh_zone_of_dso,
    "listGridModels": _model_zone,
    "getGridModel": _model_zone_v1,
    "listGridModelNodes": _model_zone_v1,
    "listGridModelLines": _model_zone_v1,
    "exportGridModel": _model_zone_v1_pandapower,
    "getMarketResults": _cleared_session,
    "forwardToTso": _fresh_cleared_session,
    "getForwarding": _forwarded_session,
    "listActivations": _session,
    "activateOfferLocally": _fresh_agg_offer_to_activate,
    "runMarketArchitecture": _new_run,
    "compareMarketArchitectures": _new_comparison,
    "getMarketArchitectureRun": _fmo_run,
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    data_dir = tmp_path_factory.mktemp("authz")
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'flexgrid.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    return Settings(
        database_url=url,
        data_dir=data_dir,
        rate_limit_per_s=0,
        session_sweep_s=60,
        nats_enabled=False,  # jobs stay accepted: no engine runs them
        grid_import_workers=0,  # imports in a thread: no process pool to start per backend
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(world_settings: Settings) -> AsyncIterator[World]:
    clock = MutableClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(world_settings, clock=clock, engine_kinds=lambda: frozenset({ENGINE_KIND}))
    async with AsyncTestClient(app) as client:
        market = await Market.start(client, world_settings, clock)
        await market.standard()
        market.ids["asset"] = await market.asset("agg", "zone", decide_by="dso")
        market.ids["asset2"] = await market.asset("agg2", "zone2", decide_by="dso2")
        market.ids["request"] = await market.flex_request("dso", "session")
        market.ids["request2"] = await market.flex_request("dso2", "session2")
        market.ids["request_tso"] = await market.flex_request("tso", "session")
        market.ids["offer"] = await market.flex_offer("agg", "session")
        market.ids["offer2"] = await market.flex_offer("agg2", "session2")
        market.ids["offer_esp"] = await market.flex_offer("esp", "session")
        market.ids["job"] = await _submit_job(market, "agg")
        market.ids["cancelled_job"] = await _submit_job(market, "agg")
        cancelled = await market.call(
            "DELETE", f"/v1/jobs/{market.ids['cancelled_job']}", market.keys["agg"]
        )
        assert cancelled.status_code == 200, cancelled.text
        issued = await market.call("POST", "/v1/api-keys", market.fmo_key, {"label": "old"})
        assert issued.status_code == 201, issued.text
        revoked_id, revoked_key = issued.json()["api_key"]["id"], issued.json()["key"]
        revoked = await market.call("DELETE", f"/v1/api-keys/{revoked_id}", market.fmo_key)
        assert revoked.status_code == 204, revoked.text
        await _grid_market(market)
        yield World(market=market, revoked_key=revoked_key)


async def _grid_market(market: Market) -> None:
    """The model zone with CIGRE MV as version 1, cleared sessions (one forwarded), a local
    activation of agg's offer in `activated_session`, and the market operator's architecture
    run."""
    zone_id = await market.zone("model_zone", "dso")
    uploaded = await _upload_cigre(market, zone_id, market.keys["dso"])
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["version"] == 1, uploaded.text
    market.ids["cleared_session"] = await _cleared_session_in(market, "model_zone")
    forwarded = await _cleared_session_in(market, "model_zone")
    market.ids["forwarded_session"] = forwarded
    started = await market.call(
        "POST", f"/v1/market-sessions/{forwarded}/forwarding", market.keys["dso"], FORWARDING_BODY
    )
    assert started.status_code == 202, started.text
    # agg's (and esp's) offer in `activated_session`, cleared, and agg's activated by `dso`.
    await market.session("activated_session", "zone")
    market.ids["activated_offer"] = await market.flex_offer("agg", "activated_session")
    await market.flex_offer("esp", "activated_session")
    await _cleared_by_hand(market, "activated_session")
    activated = await market.call(
        "POST",
        f"/v1/flex-offers/{market.ids['activated_offer']}/activations",
        market.keys["dso"],
        {"period_index": 1, "direction": "up", "p_mw": 0.3},
    )
    assert activated.status_code == 201, activated.text
    run = await market.call(
        "POST",
        "/v1/market-architectures/runs",
        market.fmo_key,
        {"architecture": "iterative", "scenario": SCENARIO},
    )
    assert run.status_code == 202, run.text
    market.ids["run"] = run.json()["id"]


# --- the matrix itself ---------------------------------------------------------------------

CELLS = [
    pytest.param(operation, actor, expected, id=f"{operation}-{actor}")
    for operation, row in MATRIX.items()
    for actor, expected in row.items()
]


@in_module_loop
@pytest.mark.parametrize(("operation", "actor", "expected"), CELLS)
async def test_authorization_cell(world: World, operation: str, actor: str, expected: int) -> None:
    call = await ARRANGE[operation](world)
    response = await world.send(operation, actor, call)
    method, template = ROUTES[operation]
    assert response.status_code == expected, (
        f"{actor} {method} {template}: expected {expected}, got {response.status_code}: "
        f"{response.text}"
    )
    if expected >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")


def test_matrix_covers_every_operation_of_the_committed_openapi() -> None:
    documented = set(ROUTES)
    assert set(MATRIX) == documented, (
        "the authorization matrix and openapi/openapi.json disagree: "
        f"missing rows {sorted(documented - set(MATRIX))}, "
        f"rows for unknown operations {sorted(set(MATRIX) - documented)}"
    )
    assert set(ARRANGE) == documented, "every operation needs a target in ARRANGE"


def test_every_documented_status_of_the_matrix_is_declared_in_openapi() -> None:
    """A status the matrix expects must be one the OpenAPI document promises for the route."""
    undeclared = [
        f"{operation}/{actor}: {status}"
        for operation, row in MATRIX.items()
        for actor, status in row.items()
        if str(status) not in _operation(operation)["responses"]
    ]
    assert not undeclared, f"statuses missing from openapi.json: {undeclared}"


def _operation(operation_id: str) -> dict[str, Any]:
    method, path = ROUTES[operation_id]
    operation: dict[str, Any] = _DOCUMENT["paths"][path][method.lower()]
    return operation


# --- object-level rules across tenants ----------------------------------------------------


async def _zone2_request(w: World) -> Call:
    return Call({"order_id": w.id("request2")})


async def _zone2_offer(w: World) -> Call:
    return Call({"order_id": w.id("offer2")})


async def _session_request(w: World) -> Call:
    return Call(body=w.market.request_body("session"))


async def _offer_with_agg_asset(w: World) -> Call:
    return Call(body=w.market.offer_body("session", node_mrid=None, asset_id=w.id("asset")))


async def _new_zone_for_other_dso(w: World) -> Call:
    return Call(body={"name": _unique("zone"), "dso_id": w.id("dso"), "nodes": []})


async def _fresh_key_of_dso(w: World) -> Call:
    key_id, _ = await w.market.key_for("dso")
    return Call({"key_id": key_id})


# (actor, operation, target, expected, why)
CROSS_TENANT: list[tuple[str, str, Arrange, int, str]] = [
    ("dso2", "getGridZone", _zone, 404, "another DSO's zone does not exist for it"),
    ("dso2", "listGridNodes", _zone, 404, "nor do its nodes"),
    ("dso2", "getMarketSession", _session, 404, "nor its sessions"),
    ("dso2", "closeMarketSession", _fresh_session, 403, "a DSO never closes sessions"),
    ("dso2", "getFlexRequest", _dso_request, 404, "nor its requests"),
    ("dso2", "withdrawFlexRequest", _fresh_dso_request, 404, "nor may it withdraw them"),
    ("dso2", "submitFlexRequest", _session_request, 404, "nor buy in its sessions"),
    ("dso2", "getFlexOffer", _agg_offer, 404, "offers in another zone are invisible"),
    ("dso2", "getFlexAsset", _agg_asset, 404, "assets in another zone are invisible"),
    ("dso2", "decideFlexAssetPrequalification", _fresh_pending_asset, 404, "not its zone"),
    ("dso2", "createGridZone", _new_zone_for_other_dso, 403, "zones for itself only"),
    ("dso", "getFlexOffer", _agg_offer, 200, "a DSO sees offers in its zone"),
    ("dso", "withdrawFlexOffer", _fresh_agg_offer, 403, "but may not withdraw them"),
    ("dso", "getFlexRequest", _zone2_request, 404, "the other way round too"),
    ("agg2", "getFlexOffer", _agg_offer, 404, "another aggregator's offer is invisible"),
    ("agg2", "withdrawFlexOffer", _fresh_agg_offer, 404, "and cannot be withdrawn"),
    ("agg2", "getFlexAsset", _agg_asset, 404, "another aggregator's asset is invisible"),
    ("agg2", "submitFlexOffer", _offer_with_agg_asset, 422, "nor usable in an offer"),
    ("agg2", "getParticipant", _participant_agg, 404, "other participants are invisible"),
    ("agg2", "issueApiKey", _key_for_agg, 403, "keys for others: market operator only"),
    ("agg2", "revokeApiKey", _fresh_key_of_agg, 404, "another's key does not exist for it"),
    ("esp", "revokeApiKey", _fresh_key_of_dso, 404, "whatever the role"),
    ("tso", "withdrawFlexRequest", _fresh_dso_request, 404, "the TSO sees its own requests"),
    ("fmo", "getFlexRequest", _zone2_request, 200, "the market operator sees all"),
    ("fmo", "getFlexOffer", _zone2_offer, 200, "in every zone"),
    ("fmo", "getFlexAsset", _agg_asset, 200, "and every asset"),
    ("agg2", "getJob", _agg_job, 404, "another participant's job is invisible"),
    ("agg2", "cancelJob", _fresh_agg_job, 404, "and cannot be cancelled"),
    ("dso2", "uploadGridModel", _fresh_zone_of_dso, 404, "no uploads to another DSO's zone"),
    ("dso2", "listGridModels", _model_zone, 404, "nor does it see the zone's models"),
    ("dso2", "getGridModel", _model_zone_v1, 404, "or their summaries"),
    ("dso2", "listGridModelNodes", _model_zone_v1, 404, "or their buses"),
    ("dso2", "listGridModelLines", _model_zone_v1, 404, "or their lines"),
    ("dso2", "exportGridModel", _model_zone_v1_pandapower, 404, "or their exports"),
    ("dso2", "getMarketResults", _cleared_session, 404, "nor the results of its sessions"),
    ("fmo", "getMarketResults", _session, 409, "an open session has no results yet"),
    ("dso2", "forwardToTso", _fresh_cleared_session, 404, "nor may it forward them"),
    ("dso2", "getForwarding", _forwarded_session, 404, "nor see their forwarding"),
    ("dso2", "listActivations", _session, 404, "nor their activations"),
    ("dso2", "activateOfferLocally", _fresh_agg_offer_to_activate, 404, "nor activate offers"),
]


@in_module_loop
@pytest.mark.parametrize(
    ("actor", "operation", "arrange", "expected", "why"),
    [pytest.param(*case, id=f"{case[0]}-{case[1]}") for case in CROSS_TENANT],
)
async def test_object_level_rule(
    world: World, actor: str, operation: str, arrange: Arrange, expected: int, why: str
) -> None:
    response = await world.send(operation, actor, await arrange(world))
    assert response.status_code == expected, f"{why}: {response.status_code} {response.text}"


# --- what lists show -------------------------------------------------------------------------

# (actor, list operation, query, aliases that must be listed, aliases that must not)
VISIBILITY: list[tuple[str, str, dict[str, str], tuple[str, ...], tuple[str, ...]]] = [
    ("dso", "listGridZones", {}, ("zone",), ("zone2",)),
    ("agg", "listGridZones", {}, ("zone", "zone2"), ()),
    ("fmo", "listGridZones", {}, ("zone", "zone2"), ()),
    ("dso", "listMarketSessions", {}, ("session",), ("session2",)),
    ("retailer", "listMarketSessions", {}, ("session", "session2"), ()),
    ("dso", "listFlexAssets", {}, ("asset",), ("asset2",)),
    ("agg", "listFlexAssets", {}, ("asset",), ("asset2",)),
    ("esp", "listFlexAssets", {}, (), ("asset", "asset2")),
    ("fmo", "listFlexAssets", {}, ("asset", "asset2"), ()),
    ("dso", "listFlexRequests", {}, ("request", "request_tso"), ("request2",)),
    ("tso", "listFlexRequests", {}, ("request_tso",), ("request", "request2")),
    ("fmo", "listFlexRequests", {"session_id": "session"}, ("request", "request_tso"), ()),
    ("fmo", "listFlexRequests", {"session_id": "session2"}, ("request2",), ()),
    ("dso", "listFlexOffers", {}, ("offer", "offer_esp"), ("offer2",)),
    ("agg", "listFlexOffers", {}, ("offer",), ("offer2", "offer_esp")),
    ("agg2", "listFlexOffers", {}, ("offer2",), ("offer", "offer_esp")),
    ("fmo", "listFlexOffers", {"session_id": "session"}, ("offer", "offer_esp"), ()),
    ("fmo", "listFlexOffers", {"session_id": "session2"}, ("offer2",), ()),
    ("fmo", "listParticipants", {}, ("dso", "agg", "retailer"), ()),
    ("retailer", "listParticipants", {}, ("retailer",), ("dso", "agg")),
]


def _listed_ids(body: Any) -> set[str]:
    items = body["items"] if isinstance(body, dict) else body
    return {item["id"] for item in items}


@in_module_loop
@pytest.mark.parametrize(
    ("actor", "operation", "query", "shown", "hidden"),
    [
        pytest.param(*case, id=f"{case[0]}-{case[1]}-{'-'.join(case[2].values()) or 'all'}")
        for case in VISIBILITY
    ],
)
async def test_lists_show_exactly_what_the_caller_may_see(
    world: World,
    actor: str,
    operation: str,
    query: dict[str, str],
    shown: tuple[str, ...],
    hidden: tuple[str, ...],
) -> None:
    # Query values name aliases of the world (session_id=session).
    resolved = {name: world.id(value) for name, value in query.items()}
    response = await world.send(operation, actor, Call(query=resolved))
    assert response.status_code == 200, response.text
    listed = _listed_ids(response.json())
    missing = {alias for alias in shown if world.id(alias) not in listed}
    leaked = {alias for alias in hidden if world.id(alias) in listed}
    assert not missing, f"{actor} should see {sorted(missing)} in {operation}"
    assert not leaked, f"{actor} must not see {sorted(leaked)} in {operation}"


# Who sees the local activation of agg's offer in `activated_session` (made by `dso`).
ACTIVATION_SEEN_BY = {"fmo": True, "dso": True, "agg": True}


@in_module_loop
@pytest.mark.parametrize("actor", ["fmo", "dso", "tso", "agg", "agg2", "esp", "retailer"])
async def test_activation_list_shows_a_seller_its_own_offers_only(world: World, actor: str) -> None:
    session = Call({"session_id": world.id("activated_session")})
    response = await world.send("listActivations", actor, session)
    assert response.status_code == 200, response.text
    listed = {item["offer_id"] for item in response.json()}
    seen = world.id("activated_offer") in listed
    assert seen is ACTIVATION_SEEN_BY.get(actor, False), f"{actor}: {response.text}"


@in_module_loop
async def test_api_key_listing_shows_own_keys_only(world: World) -> None:
    response = await world.send("listApiKeys", "agg", Call())
    assert response.status_code == 200
    owners = {key["participant_id"] for key in response.json()}
    assert owners == {world.id("agg")}

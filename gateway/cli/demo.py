"""`flexgrid demo`: the market end to end on the embedded default (SQLite, in-process gateway).

It grows with each capability; today: participants and keys, a grid zone on the CIGRE MV
network, asset prequalification, a market session, requests and offers (with an idempotent
retry and a withdrawal), gate closure, the resulting order book, and the session's clearing
(dispatch, congestion before and after, nodal prices, payments).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table

from cim.bundled import cigre_mv_nodes
from gateway.cli.bootstrap import bootstrap_fmo
from gateway.cli.demo_markets import compare_architectures, forward_to_tso
from gateway.core import create_app
from gateway.settings import Settings

console = Console(width=110)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DemoClient:
    def __init__(self, base: str) -> None:
        self._http = httpx.AsyncClient(base_url=base, timeout=30.0)

    async def call(
        self, method: str, path: str, key: str, body: Any = None, *, expect: int, **headers: str
    ) -> Any:
        response = await self._http.request(
            method, path, json=body, headers={"X-API-Key": key, **headers}
        )
        if response.status_code != expect:
            raise RuntimeError(
                f"{method} {path}: expected {expect}, got {response.status_code}: {response.text}"
            )
        return response.json() if response.content else None

    async def upload(self, path: str, key: str, files: list[tuple[str, bytes]]) -> Any:
        """A multipart upload (grid models); answers the JSON body of a 201."""
        response = await self._http.post(
            path,
            files=[("files", (name, data, "application/xml")) for name, data in files],
            headers={"X-API-Key": key},
        )
        if response.status_code != 201:
            raise RuntimeError(
                f"POST {path}: expected 201, got {response.status_code}: {response.text}"
            )
        return response.json()

    async def close(self) -> None:
        await self._http.aclose()


async def run_demo(*, gate_closure_s: float = 3.0) -> None:
    # The engines run inside this process: keep their libraries' advice (numba missing, an
    # "acceptable" solver level) out of the walkthrough; real errors still show.
    for name in ("pandapower", "pyomo"):
        logging.getLogger(name).setLevel(logging.ERROR)
    settings = Settings.from_env()
    demo_dir = settings.data_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    demo_dir.mkdir(parents=True)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{demo_dir / 'flexgrid.db'}",
        data_dir=demo_dir,
        port=_free_port(),
        session_sweep_s=0.2,
    )
    console.rule("[bold]FlexGrid ATP demo")
    console.print(f"database: {settings.database_url}")
    fmo, fmo_key = await bootstrap_fmo(settings, "Demo market operator")
    console.print(
        f"FMO created from the CLI path: {fmo.name} (key prefix {fmo_key.api_key.prefix})"
    )

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning"
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    client = DemoClient(f"http://127.0.0.1:{settings.port}")
    try:
        await _market(client, fmo_key.key, gate_closure_s)
    finally:
        await client.close()
        server.should_exit = True
        await serving


async def _market(api: DemoClient, fmo: str, gate_closure_s: float) -> None:
    health = await api.call("GET", "/v1/health", fmo, expect=200)
    console.print(f"health: {health['status']} ({', '.join(c['name'] for c in health['checks'])})")

    keys: dict[str, str] = {}
    for name, role in (
        ("DSO Feeder Co", "dso"),
        ("Aggregator Alpha", "aggregator"),
        ("ESP Beta", "esp"),
    ):
        participant = await api.call(
            "POST", "/v1/participants", fmo, {"name": name, "role": role}, expect=201
        )
        issued = await api.call(
            "POST", "/v1/api-keys", fmo, {"participant_id": participant["id"]}, expect=201
        )
        keys[role] = issued["key"]
        console.print(f"participant {name:<18} role {role:<10} key {issued['api_key']['prefix']}…")
    dso, agg, esp = keys["dso"], keys["aggregator"], keys["esp"]

    nodes = [{"mrid": n.mrid, "name": n.name, "vn_kv": n.vn_kv} for n in cigre_mv_nodes()]
    zone = await api.call(
        "POST",
        "/v1/grid-zones",
        dso,
        {"name": "CIGRE MV feeder", "nodes": nodes, "bundled_network": "cigre-mv"},
        expect=201,
    )
    console.print(f"grid zone {zone['name']}: {zone['node_count']} nodes (CIGRE MV, pandapower)")

    asset = await api.call(
        "POST",
        "/v1/flex-assets",
        agg,
        {
            "name": "Battery at bus 5",
            "zone_id": zone["id"],
            "node_mrid": "cigre-mv-bus-5",
            "kind": "battery",
            "p_max_mw": 0.6,
            "q_max_mvar": 0.3,
        },
        expect=201,
    )
    asset = await api.call(
        "POST",
        f"/v1/flex-assets/{asset['id']}/prequalification",
        dso,
        {"decision": "confirmed", "reason": "connection capacity checked"},
        expect=200,
    )
    console.print(f"asset {asset['name']}: prequalification {asset['prequalification']}")

    # Delivery from a midnight (UTC) at least an hour away, so the evening orders meet the evening
    # peak of the base schedules' daily profile (gateway/domain/results/profile.py).
    start = (datetime.now(UTC) + timedelta(days=1, hours=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=24)).isoformat()}
    gate = datetime.now(UTC) + timedelta(seconds=gate_closure_s)
    session = await api.call(
        "POST",
        "/v1/market-sessions",
        fmo,
        {
            "zone_id": zone["id"],
            "name": f"Day-ahead DLFM {start:%Y-%m-%d}",
            "delivery": {**window, "resolution_minutes": 60},
            "gate_closure_at": gate.isoformat(),
            "payment_rule": "nodal",
            # Reactive DLFM after the day-ahead market: energy at the coupling point at its TLMP.
            "upstream_price_eur_per_mwh": 60.0,
        },
        expect=201,
    )
    console.print(f"session {session['name']}: {session['state']}, gate closure {gate:%H:%M:%S}")

    evening = {
        "start": (start + timedelta(hours=17)).isoformat(),
        "end": (start + timedelta(hours=21)).isoformat(),
        "resolution_minutes": 60,
    }
    for node, p_mw, price in (("cigre-mv-bus-5", 0.8, 180.0), ("cigre-mv-bus-10", 0.4, 150.0)):
        await api.call(
            "POST",
            "/v1/flex-requests",
            dso,
            {
                "session_id": session["id"],
                "node_mrid": node,
                "direction": "up",
                "p_mw": p_mw,
                "q_mvar": 0.1,
                "price_p_eur_per_mwh": price,
                "price_q_eur_per_mvarh": 15.0,
                "delivery": evening,
            },
            expect=201,
        )
    offer = {
        "session_id": session["id"],
        "asset_id": asset["id"],
        "p_up_mw": 0.5,
        "q_up_mvar": 0.2,
        "price_p_up_eur_per_mwh": 95.0,
        "price_q_eur_per_mvarh": 8.0,
        "min_activation_mw": 0.1,
        "delivery_windows": [evening],
        "valid_until": gate.isoformat(),
    }
    first = await api.call(
        "POST", "/v1/flex-offers", agg, offer, expect=201, **{"Idempotency-Key": "alpha-001"}
    )
    retry = await api.call(
        "POST", "/v1/flex-offers", agg, offer, expect=201, **{"Idempotency-Key": "alpha-001"}
    )
    console.print(f"idempotent retry returned the stored offer: {retry['id'] == first['id']}")
    await api.call(
        "POST",
        "/v1/flex-offers",
        agg,
        {**offer, "p_up_mw": 0.4},
        expect=422,
        **{"Idempotency-Key": "alpha-001"},
    )
    console.print("same key with another body: 422")
    for node, p_up, price, block in (
        ("cigre-mv-bus-10", 0.3, 120.0, True),
        ("cigre-mv-bus-11", 0.25, 110.0, False),
        ("cigre-mv-bus-5", 0.2, 140.0, False),
    ):
        created = await api.call(
            "POST",
            "/v1/flex-offers",
            esp,
            {
                "session_id": session["id"],
                "node_mrid": node,
                "p_up_mw": p_up,
                "price_p_up_eur_per_mwh": price,
                "block": block,
                "delivery_windows": [evening],
                "valid_until": gate.isoformat(),
            },
            expect=201,
        )
    await api.call("POST", f"/v1/flex-offers/{created['id']}/withdraw", esp, expect=200)
    console.print("ESP Beta withdrew its offer at cigre-mv-bus-5 before gate closure")

    await asyncio.sleep(max(0.0, (gate - datetime.now(UTC)).total_seconds()) + 0.5)
    closed = await api.call("GET", f"/v1/market-sessions/{session['id']}", fmo, expect=200)
    console.print(f"gate closure passed: session is {closed['state']}")
    await api.call(
        "POST",
        "/v1/flex-offers",
        esp,
        {**offer, "asset_id": None, "node_mrid": "cigre-mv-bus-5"},
        expect=409,
    )
    console.print("an offer after gate closure: 409")

    await _upload_model(api, dso, zone["id"])
    await _print_book(api, fmo, session["id"])
    await _clearing(api, fmo, agg, session["id"])


async def _print_book(api: DemoClient, fmo: str, session_id: str) -> None:
    requests = await api.call("GET", f"/v1/flex-requests?session_id={session_id}", fmo, expect=200)
    offers = await api.call("GET", f"/v1/flex-offers?session_id={session_id}", fmo, expect=200)
    table = Table(title="Order book at gate closure")
    for column in ("side", "node", "P MW", "Q Mvar", "EUR/MWh", "EUR/Mvarh", "kind", "status"):
        table.add_column(column)
    for r in requests["items"]:
        table.add_row(
            "request",
            r["node_mrid"],
            f"{r['p_mw']:.2f}",
            f"{r['q_mvar']:.2f}",
            f"{r['price_p_eur_per_mwh']:.0f}",
            f"{r['price_q_eur_per_mvarh']:.0f}",
            r["direction"],
            r["status"],
        )
    for o in offers["items"]:
        table.add_row(
            "offer",
            o["node_mrid"],
            f"{o['p_up_mw']:.2f}",
            f"{o['q_up_mvar']:.2f}",
            f"{o['price_p_up_eur_per_mwh']:.0f}",
            f"{o['price_q_eur_per_mvarh']:.0f}",
            "block" if o["block"] else "divisible",
            o["status"],
        )
    console.print(table)


async def _clearing(api: DemoClient, fmo: str, agg: str, session_id: str) -> None:
    """Gate closure started the session's clearing job: follow it, then show the results."""
    session = await api.call("GET", f"/v1/market-sessions/{session_id}", fmo, expect=200)
    job_id = session["clearing_job_id"]
    console.print(f"clearing job {job_id} (fmct-clear) started at gate closure")
    seen = ""
    for _ in range(1200):
        job = await api.call("GET", f"/v1/jobs/{job_id}", fmo, expect=200)
        line = f"  {job['status']:<9} {job['progress']:4.0%} {job['message']}"
        if line != seen:
            console.print(line)
            seen = line
        if job["status"] in ("completed", "failed", "cancelled"):
            break
        await asyncio.sleep(0.25)
    results = await api.call("GET", f"/v1/market-sessions/{session_id}/results", fmo, expect=200)
    console.print(
        f"session {results['state']}: {results['status']} by {results['method']}, payment rule "
        f"{results['payment_rule']}{', ' + results['reason'] if results['reason'] else ''}"
    )
    if results["state"] != "cleared":
        raise RuntimeError(f"the demo market did not clear: {results['reason']}")
    _print_dispatch(results)
    _print_congestion(results)
    _print_prices(results)
    mine = await api.call("GET", f"/v1/market-sessions/{session_id}/results", agg, expect=200)
    console.print(
        f"Aggregator Alpha's view: {len(mine['offers'])} offer(s), "
        f"{len(mine['payments'])} payment(s), grid state hidden: "
        f"{all(p['grid'] is None for p in mine['periods'])}"
    )
    periods = [p["period_index"] for p in results["periods"]]
    await forward_to_tso(api, fmo, session_id, periods)
    await compare_architectures(api, fmo)
    console.print("[green]demo completed[/green]")


def _print_dispatch(results: dict[str, Any]) -> None:
    periods = [p["period_index"] for p in results["periods"]]
    hours = [p["start"][11:16] for p in results["periods"]]
    table = Table(title="Dispatch of the offers (P up, MW, per delivery hour, UTC)")
    for column in ("offer at", "outcome", *hours):
        table.add_column(column)
    for o in results["offers"]:
        volume = {d["period_index"]: d["p_up_mw"] - d["p_down_mw"] for d in o["dispatch"]}
        table.add_row(o["node_mrid"], o["outcome"], *(f"{volume.get(h, 0.0):.3f}" for h in periods))
    console.print(table)
    payments = ", ".join(
        f"{p['role']} {p['participant_id'][:8]} {p['amount_eur']:+.2f} EUR"
        for p in results["payments"]
    )
    console.print(f"payments (received): {payments}")
    console.print(
        f"budget balance (buyers pay - sellers get): {results['budget_balance_eur']:.2f} EUR"
    )


def _print_congestion(results: dict[str, Any]) -> None:
    table = Table(title="Congestion: loading of binding or overloaded branches (percent)")
    for column in ("hour", "branch", "before clearing", "after clearing", "binding"):
        table.add_column(column)
    for p in results["periods"]:
        grid = p["grid"]
        for b in grid["branches"]:
            if b["binding"] or (b["before_percent"] or 0.0) > 100.0:
                table.add_row(
                    p["start"][11:16],
                    b["branch_id"],
                    f"{b['before_percent']:.1f}",
                    f"{b['after_percent']:.1f}",
                    "yes" if b["binding"] else "no",
                )
    console.print(table)


def _print_prices(results: dict[str, Any]) -> None:
    nodes = (
        "cigre-mv-bus-0",
        "cigre-mv-bus-1",
        "cigre-mv-bus-5",
        "cigre-mv-bus-10",
        "cigre-mv-bus-12",
    )
    table = Table(title="Nodal prices d-LMP (EUR/MWh)")
    for column in ("hour", *(n.removeprefix("cigre-mv-") for n in nodes)):
        table.add_column(column)
    for p in results["periods"]:
        prices = {x["node_mrid"]: x["p_eur_per_mwh"] for x in p["prices"]}
        table.add_row(p["start"][11:16], *(f"{prices[n]:.1f}" for n in nodes))
    console.print(table)


async def _upload_model(api: DemoClient, dso: str, zone_id: str) -> None:
    """The DSO uploads the CIGRE MV network as CGMES (cimpy's sample files): version 1 of the
    zone's model. Its buses become the zone's nodes; the pandapower-named nodes that the
    demo's orders and asset name are kept, the others go."""
    from cim.samples import cigre_mv_cgmes_files

    files = [(path.name, path.read_bytes()) for path in cigre_mv_cgmes_files()]
    model = await api.upload(f"/v1/grid-zones/{zone_id}/models", dso, files)
    counts = {k: v for k, v in model["summary"]["counts"].items() if v}
    levels = ", ".join(f"{v:g}" for v in model["summary"]["voltage_levels_kv"])
    console.print(
        f"grid model v{model['version']} uploaded ({len(files)} CGMES files): {counts}, "
        f"voltage levels {levels} kV, findings {model['finding_counts']}"
    )
    nodes = model["nodes"]
    console.print(
        f"zone nodes: {nodes['added']} added from the model, {nodes['removed']} removed, "
        f"kept because orders name them: {', '.join(nodes['kept_referenced']) or 'none'}"
    )

"""`flexgrid demo`: the market end to end on the embedded default (SQLite, in-process gateway).

It grows with each capability; today: participants and keys, a grid zone on the CIGRE MV
network, asset prequalification, a market session, requests and offers (with an idempotent
retry and a withdrawal), gate closure, and the resulting order book.
"""

from __future__ import annotations

import asyncio
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

    async def close(self) -> None:
        await self._http.aclose()


async def run_demo(*, gate_closure_s: float = 3.0) -> None:
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
        "POST", "/v1/grid-zones", dso, {"name": "CIGRE MV feeder", "nodes": nodes}, expect=201
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

    start = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
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

    await _print_book(api, fmo, session["id"])


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
    console.print("[green]demo completed[/green]")

"""A CIGRE MV market for the clearing tests: a DSO zone on the bundled network, one evening of
requests and offers, and helpers to wait for the clearing's outcome."""

from __future__ import annotations

import asyncio
import math
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cim.bundled import cigre_mv_nodes
from tests.market import Market

EVENING = range(17, 21)  # hours (UTC) of the orders; 19:00 is the profile's peak


@dataclass(frozen=True)
class Book:
    session_id: str
    zone_id: str
    day: datetime
    requests: dict[str, str]  # alias -> id
    offers: dict[str, str]


def day_after_tomorrow(clock_now: datetime) -> datetime:
    return (clock_now + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)


async def cigre_zone(market: Market, dso_alias: str) -> str:
    nodes = [{"mrid": n.mrid, "name": n.name, "vn_kv": n.vn_kv} for n in cigre_mv_nodes()]
    response = await market.call(
        "POST",
        "/v1/grid-zones",
        market.keys[dso_alias],
        {"name": f"CIGRE MV {uuid.uuid4().hex[:8]}", "nodes": nodes, "bundled_network": "cigre-mv"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["bundled_network"] == "cigre-mv"
    return str(response.json()["id"])


def evening(day: datetime) -> dict[str, Any]:
    return {
        "start": (day + timedelta(hours=EVENING.start)).isoformat(),
        "end": (day + timedelta(hours=EVENING.stop)).isoformat(),
        "resolution_minutes": 60,
    }


async def open_book(
    market: Market,
    zone_id: str,
    *,
    upstream_price: float | None,
    payment_rule: str = "nodal",
    method: str = "auto",
) -> Book:
    """A session with two DSO requests and three offers (two sellers), as the demo has."""
    day = day_after_tomorrow(market.clock())
    gate = market.clock() + timedelta(hours=1)
    body: dict[str, Any] = {
        "zone_id": zone_id,
        "name": "evening",
        "delivery": {
            "start": day.isoformat(),
            "end": (day + timedelta(days=1)).isoformat(),
            "resolution_minutes": 60,
        },
        "gate_closure_at": gate.isoformat(),
        "payment_rule": payment_rule,
        "clearing_method": method,
        "upstream_price_eur_per_mwh": upstream_price,
    }
    session = await market.call("POST", "/v1/market-sessions", market.fmo_key, body)
    assert session.status_code == 201, session.text
    assert session.json()["payment_rule"] == payment_rule
    session_id = session.json()["id"]
    window = evening(day)
    requests = {}
    for alias, node, p_mw, price in (("r5", 5, 0.8, 180.0), ("r10", 10, 0.4, 150.0)):
        created = await market.call(
            "POST",
            "/v1/flex-requests",
            market.keys["dso"],
            {
                "session_id": session_id,
                "node_mrid": f"cigre-mv-bus-{node}",
                "direction": "up",
                "p_mw": p_mw,
                "price_p_eur_per_mwh": price,
                "delivery": window,
            },
        )
        assert created.status_code == 201, created.text
        requests[alias] = created.json()["id"]
    offers = {}
    for alias, seller, node, p_up, price in (
        ("agg5", "agg", 5, 0.5, 95.0),
        ("esp11", "esp", 11, 0.25, 110.0),
        ("esp12", "esp", 12, 0.3, 200.0),  # feeder 2, too dear: never needed
    ):
        created = await market.call(
            "POST",
            "/v1/flex-offers",
            market.keys[seller],
            {
                "session_id": session_id,
                "node_mrid": f"cigre-mv-bus-{node}",
                "p_up_mw": p_up,
                "price_p_up_eur_per_mwh": price,
                "delivery_windows": [window],
                "valid_until": (gate + timedelta(hours=1)).isoformat(),
            },
        )
        assert created.status_code == 201, created.text
        offers[alias] = created.json()["id"]
    return Book(session_id, zone_id, day, requests, offers)


async def wait_decided(market: Market, session_id: str, timeout_s: float = 30.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        session = await market.call("GET", f"/v1/market-sessions/{session_id}", market.fmo_key)
        if session.json()["state"] in ("cleared", "failed"):
            return dict(session.json())
        await asyncio.sleep(0.1)
    raise AssertionError(f"session {session_id} was not cleared in {timeout_s} s: {session.text}")


def pandapower_base_loading(hour: int) -> dict[str, float]:
    """Loading of CIGRE MV's branches at `hour` under the documented profile, by pandapower's
    own power flow (independent of the engine): the reference for the `before` state."""
    return pandapower_loading(hour, {})


def pandapower_loading(hour: int, injections: dict[int, float]) -> dict[str, float]:
    """`pandapower_base_loading` with extra injections per bus (MW, + = generation)."""
    import pandapower as pp
    import pandapower.networks as pn

    from gateway.domain.results.profile import LOAD_PROFILE, pv_factor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = pn.create_cigre_network_mv(with_der="pv_wind")
        net.load["p_mw"] *= LOAD_PROFILE[hour]
        net.load["q_mvar"] *= LOAD_PROFILE[hour]
        net.sgen["p_mw"] *= pv_factor(hour)
        for bus, p_mw in injections.items():
            pp.create_sgen(net, bus, p_mw=p_mw)
        pp.runpp(net, numba=False)
    out = {f"line:{i}": float(v) for i, v in net.res_line.loading_percent.items()}
    out.update({f"trafo:{i}": float(v) for i, v in net.res_trafo.loading_percent.items()})
    assert not any(math.isnan(v) for v in out.values())
    return out

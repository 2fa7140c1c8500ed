"""Market clearing in the market flow, against a real nats-server and on both database backends:
gate closure (a mutable clock) -> clearing job (`fmct-clear`, run by the gateway's in-process
engine runtime over JetStream) -> results stored once -> REST per role, and NATS events.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import func, select

from engines.fmct.clearing import clear
from engines.fmct.clearing_engine import bundled_names
from engines.fmct.clearing_job import ClearingJobInput
from engines.fmct.needs_engine import bundled_network
from gateway.db.database import Database
from gateway.db.tables import job, market_result, order_audit, order_outcome, outbox
from gateway.domain.results.completion import on_clearing_finished
from gateway.messages import subjects
from gateway.messages.events import JobCompleted, SessionCleared, SessionEvent, SessionFailed
from gateway.messaging.job_events import JobEventConsumer
from tests.clearing._market import (
    Book,
    cigre_zone,
    open_book,
    pandapower_base_loading,
    wait_decided,
)
from tests.market import Market

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clearing_worker")]
SESSION_EVENT = msgspec.json.Decoder(SessionEvent)


async def _participants(market: Market) -> None:
    for alias, role in (
        ("dso", "dso"),
        ("dso2", "dso"),
        ("agg", "aggregator"),
        ("esp", "esp"),
        ("tso", "tso"),
    ):
        await market.participant(alias, role)


async def _results(market: Market, session_id: str, key: str) -> Any:
    return await market.call("GET", f"/v1/market-sessions/{session_id}/results", key)


async def _session_event(js: JetStreamContext, session_id: str) -> SessionEvent:
    for _ in range(100):  # the outbox relay publishes it shortly after the commit
        try:
            last = await js.get_last_msg(
                subjects.EVENTS_STREAM, subjects.session_events(session_id)
            )
        except NotFoundError:
            await asyncio.sleep(0.05)
            continue
        event: SessionEvent = SESSION_EVENT.decode(last.data or b"")
        return event
    raise AssertionError(f"no session event for {session_id}")


async def _cleared_book(market: Market) -> Book:
    await _participants(market)
    zone = await cigre_zone(market, "dso")
    book = await open_book(market, zone, upstream_price=60.0)
    early = await _results(market, book.session_id, market.fmo_key)
    assert early.status_code == 409
    assert "open" in early.json()["detail"]
    market.clock.advance(hours=2)  # past gate closure: the sweep closes and starts the clearing
    session = await wait_decided(market, book.session_id)
    assert session["state"] == "cleared", session
    assert session["clearing_job_id"]
    return book


async def test_gate_closure_clears_and_each_role_sees_its_share(
    market: Market, db: Database, js: JetStreamContext
) -> None:
    book = await _cleared_book(market)
    full = await _results(market, book.session_id, market.fmo_key)
    assert full.status_code == 200, full.text
    res = full.json()
    assert (res["state"], res["view"], res["status"]) == ("cleared", "full", "optimal")
    assert res["method"] == "acopf"
    assert res["payment_rule"] == "nodal"
    assert [p["period_index"] for p in res["periods"]] == [17, 18, 19, 20]

    # The pipeline changes nothing: the same input cleared directly by the pure core.
    async with db.connect() as conn:
        raw_input = (
            await conn.execute(select(job.c.input).where(job.c.id == res["job_id"]))
        ).scalar_one()
    data = msgspec.json.decode(raw_input, type=ClearingJobInput)
    net = bundled_network("cigre_mv")
    names = bundled_names("cigre_mv", net)
    direct = clear(
        net,
        data.schedules,
        [msgspec.structs.replace(r, bus=names.to_bus(r.bus)) for r in data.requests],
        [msgspec.structs.replace(o, bus=names.to_bus(o.bus)) for o in data.offers],
        data.options,
    )
    assert res["objective_eur"] == pytest.approx(direct.objective_eur, rel=1e-6)

    # Before: pandapower's own power flow of the base schedule (trafo 0-1 over its rating at
    # the 19:00 peak); after: the cleared point holds it at its limit, and it is binding.
    peak = res["periods"][2]["grid"]
    reference = pandapower_base_loading(19)
    trafo = next(b for b in peak["branches"] if b["branch_id"] == "trafo:0")
    assert trafo["before_percent"] == pytest.approx(reference["trafo:0"], rel=1e-4)
    assert trafo["before_percent"] > 100.0
    assert trafo["after_percent"] == pytest.approx(100.0, abs=0.05)
    assert trafo["binding"]
    assert peak["binding_branches"] == ["trafo:0"]
    assert peak["congested_before"] == ["trafo:0"]
    # Prices: the slack bus at the TLMP; behind the binding transformer they separate.
    prices = {p["node_mrid"]: p["p_eur_per_mwh"] for p in res["periods"][2]["prices"]}
    assert prices["cigre-mv-bus-0"] == pytest.approx(60.0, rel=1e-6)
    assert prices["cigre-mv-bus-5"] > prices["cigre-mv-bus-12"] + 50.0

    # Offers: accepted volume within what was offered; the dear feeder-2 offer is rejected.
    outcome = {o["offer_id"]: o for o in res["offers"]}
    assert outcome[book.offers["esp12"]]["outcome"] == "rejected"
    assert outcome[book.offers["agg5"]]["outcome"] == "accepted"
    for o in res["offers"]:
        for d in o["dispatch"]:
            assert 0.0 <= d["p_up_mw"] <= 0.5 + 1e-6
    assert {p["participant_id"] for p in res["payments"]} == {
        market.ids["dso"],
        market.ids["agg"],
        market.ids["esp"],
    }
    assert res["budget_balance_eur"] is not None

    # One outcome and one audit row per order, one result, one session event.
    orders = [*book.requests.values(), *book.offers.values()]
    async with db.connect() as conn:
        outcomes = (
            await conn.execute(
                select(order_outcome.c.order_id, order_outcome.c.outcome).where(
                    order_outcome.c.session_id == book.session_id
                )
            )
        ).all()
        audits = (
            await conn.execute(
                select(order_audit.c.order_id, order_audit.c.to_status).where(
                    order_audit.c.action == "cleared", order_audit.c.order_id.in_(orders)
                )
            )
        ).all()
    assert sorted(outcomes) == sorted(audits)
    assert sorted(o for o, _ in outcomes) == sorted(orders)
    event = await _session_event(js, book.session_id)
    assert isinstance(event, SessionCleared)
    assert (event.accepted_offers, event.rejected_offers) == (2, 1)

    # A seller: its own offers and payment, public prices, nothing of the grid or the others.
    agg = (await _results(market, book.session_id, market.keys["agg"])).json()
    assert agg["view"] == "participant"
    assert [o["offer_id"] for o in agg["offers"]] == [book.offers["agg5"]]
    assert agg["requests"] == []
    assert [p["participant_id"] for p in agg["payments"]] == [market.ids["agg"]]
    assert agg["objective_eur"] is None
    assert agg["budget_balance_eur"] is None
    assert all(p["grid"] is None for p in agg["periods"])
    assert agg["periods"][2]["prices"] == res["periods"][2]["prices"]
    # A participant without orders: prices only.
    tso = (await _results(market, book.session_id, market.keys["tso"])).json()
    assert (tso["offers"], tso["requests"], tso["payments"]) == ([], [], [])
    assert len(tso["periods"][0]["prices"]) == 15
    # The zone's DSO sees everything; another zone's DSO does not see the session at all.
    dso = (await _results(market, book.session_id, market.keys["dso"])).json()
    assert dso["view"] == "full"
    assert len(dso["offers"]) == 3
    other = await _results(market, book.session_id, market.keys["dso2"])
    assert other.status_code == 404


async def test_redelivered_completion_is_stored_once(
    market: Market, db: Database, js: JetStreamContext
) -> None:
    book = await _cleared_book(market)
    async with db.connect() as conn:
        job_id, output = (
            await conn.execute(
                select(market_result.c.job_id, market_result.c.output).where(
                    market_result.c.session_id == book.session_id
                )
            )
        ).one()

    async def counts() -> tuple[int, ...]:
        out = []
        async with db.connect() as conn:
            for table in (market_result, order_outcome, order_audit, outbox):
                out.append((await conn.execute(select(func.count()).select_from(table))).scalar())
        return tuple(out)

    before = await counts()
    consumer = JobEventConsumer(db, js, on_finished={"fmct-clear": on_clearing_finished})
    again = JobCompleted(
        job_id=job_id, at=market.clock(), output=msgspec.Raw(output.encode()), attempt=2
    )
    await consumer.apply(again)
    await consumer.apply(again)
    # And through NATS, as a worker that finished the same job twice would publish it.
    await js.publish(
        subjects.job_events(job_id),
        msgspec.json.encode(again),
        headers={"Nats-Msg-Id": f"{job_id}.final.again"},
    )
    for _ in range(100):
        info = await js.consumer_info(subjects.EVENTS_STREAM, "gateway-job-events")
        if info.num_pending == 0 and info.num_ack_pending == 0:
            break
        await asyncio.sleep(0.05)
    assert await counts() == before


async def test_infeasible_market_fails_the_session_with_its_reason(
    market: Market, js: JetStreamContext
) -> None:
    """Energy-neutral redispatch (no TLMP) with only up offers cannot relieve the transformer
    overloaded at the evening peak: infeasible is a normal outcome, not an error. (The MILP
    proves infeasibility; the interior-point AC-OPF reports a solver error on this case.)"""
    await _participants(market)
    zone = await cigre_zone(market, "dso")
    book = await open_book(market, zone, upstream_price=None, method="milp")
    closed = await market.call(
        "POST", f"/v1/market-sessions/{book.session_id}/close", market.fmo_key
    )
    assert closed.status_code == 200
    assert closed.json()["state"] == "closed"
    assert closed.json()["clearing_job_id"]
    session = await wait_decided(market, book.session_id)
    assert session["state"] == "failed"
    res = (await _results(market, book.session_id, market.fmo_key)).json()
    assert res["state"] == "failed"
    assert res["status"] == "infeasible"
    assert res["method"] == "milp"
    assert res["payment_rule"] == "nodal"
    assert "not solved" in res["reason"]
    assert res["periods"] == []
    assert res["payments"] == []
    assert {o["outcome"] for o in res["offers"]} == {"rejected"}
    assert {r["outcome"] for r in res["requests"]} == {"rejected"}
    event = await _session_event(js, book.session_id)
    assert isinstance(event, SessionFailed)
    assert event.status == "infeasible"


async def test_zone_without_network_stays_closed_and_says_why(market: Market) -> None:
    await market.standard()
    await market.flex_offer("agg", "session")
    market.clock.advance(hours=2)
    for _ in range(100):
        session = await market.call(
            "GET", f"/v1/market-sessions/{market.ids['session']}", market.fmo_key
        )
        if session.json()["state"] == "closed":
            break
        await asyncio.sleep(0.05)
    assert session.json()["state"] == "closed"
    assert session.json().get("clearing_job_id") is None
    res = await _results(market, market.ids["session"], market.fmo_key)
    assert res.status_code == 409
    assert "no grid model" in res.json()["detail"]


async def test_session_without_orders_is_cleared_at_once(market: Market) -> None:
    await _participants(market)
    zone = await cigre_zone(market, "dso")
    session = await market.call(
        "POST",
        "/v1/market-sessions",
        market.fmo_key,
        {
            "zone_id": zone,
            "name": "empty",
            "delivery": market.window(),
            "gate_closure_at": (market.clock() + timedelta(hours=1)).isoformat(),
        },
    )
    session_id = session.json()["id"]
    closed = await market.call("POST", f"/v1/market-sessions/{session_id}/close", market.fmo_key)
    assert closed.json()["state"] == "cleared"
    res = (await _results(market, session_id, market.keys["agg"])).json()
    assert (res["condition"], res["periods"], res["offers"]) == ("no_orders", [], [])

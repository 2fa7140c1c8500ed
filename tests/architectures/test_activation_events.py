"""Every move in the activation ledger is published once on ATP_EVENTS
(`atp.v1.events.activations.<session>`), through the outbox, on a real nats-server: the local
clearing's dispatch (reserved), a near-real-time local activation, and a forwarding (locally
dispatched offers included) that the TSO activates or releases.

The stream is read after the outbox has drained (every row sent), so what it holds then is all
that was published; the ledger (GET .../activations) is the reference for the last event of each
offer-period, and the path an offer-period took fixes how many events it has."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import msgspec
import nats
import pytest
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from sqlalchemy import func, select, update

from gateway.db.database import Database
from gateway.db.tables import outbox
from gateway.messages import subjects
from gateway.messages.activations import ActivationEvent, OfferActivated, OfferActivationChanged
from tests.architectures._session import cleared, settled
from tests.market import Market

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("workers")]
EVENT = msgspec.json.Decoder(ActivationEvent)


async def _drained(db: Database, subject: str) -> None:
    for _ in range(200):
        async with db.connect() as conn:
            unsent = (
                await conn.execute(
                    select(func.count())
                    .select_from(outbox)
                    .where(outbox.c.subject == subject, outbox.c.sent_at.is_(None))
                )
            ).scalar_one()
        if unsent == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the outbox still holds {unsent} event(s) for {subject}")


async def _stream(js: JetStreamContext, subject: str) -> list[tuple[str, ActivationEvent]]:
    """Every message on the subject, in stream order, with its Nats-Msg-Id."""
    info = await js.stream_info(subjects.EVENTS_STREAM, subjects_filter=subject)
    count = (info.state.subjects or {}).get(subject, 0)
    sub = await js.pull_subscribe(subject, stream=subjects.EVENTS_STREAM)
    out: list[tuple[str, ActivationEvent]] = []
    while len(out) < count:
        for msg in await sub.fetch(count - len(out), timeout=5):
            await msg.ack()
            out.append(((msg.headers or {}).get("Nats-Msg-Id", ""), EVENT.decode(msg.data)))
    await sub.unsubscribe()
    return out


async def test_each_ledger_move_is_published_once(
    market: Market, client: AsyncTestClient, db: Database
) -> None:
    book, big = await cleared(market)
    sid = book.session_id
    # A near-real-time local activation of an offer-period the clearing left alone.
    local = await market.call(
        "POST",
        f"/v1/flex-offers/{big}/activations",
        market.keys["dso"],
        {"period_index": 17, "direction": "down", "p_mw": 0.5},
    )
    assert local.status_code == 201, local.text
    results = (
        await market.call("GET", f"/v1/market-sessions/{sid}/results", market.fmo_key)
    ).json()
    dispatched = {
        (o["offer_id"], d["period_index"])
        for o in results["offers"]
        for d in o["dispatch"]
        if max(d["p_up_mw"], d["p_down_mw"]) > 1e-6
    }
    assert dispatched
    needs = [{"period_index": t, "need_mw": 0.4} for t in (18, 19)]
    body = {"needs": needs, "include_locally_dispatched": True}
    started = await market.call(
        "POST", f"/v1/market-sessions/{sid}/forwarding", market.keys["dso"], body
    )
    assert started.status_code == 202, started.text
    fw = await settled(market, sid)
    assert fw["state"] == "settled", fw
    ledger = {
        (a["offer_id"], a["period_index"]): a
        for a in (
            await market.call("GET", f"/v1/market-sessions/{sid}/activations", market.fmo_key)
        ).json()
    }
    assert any(a["state"] == "activated_tso" for a in ledger.values()), fw
    assert any(o["local_mw"] > 0 for o in fw["offers"]), "a locally dispatched one was forwarded"
    forwarded = {
        (o["offer_id"], o["period_index"]) for o in fw["offers"] if o["dso_check"] == "passed"
    }

    subject = subjects.activation_events(sid)
    await _drained(db, subject)
    # A relay that crashed after publishing and before marking its rows sent publishes them
    # again on restart: JetStream drops the repeats (Nats-Msg-Id = outbox id).
    async with db.begin() as conn:
        await conn.execute(update(outbox).where(outbox.c.subject == subject).values(sent_at=None))
    await _drained(db, subject)
    nc = await nats.connect(client.app.state.components.nats.embedded_url)
    try:
        published = await _stream(nc.jetstream(), subject)
    finally:
        await nc.close()

    ids = [msg_id for msg_id, _ in published]
    assert all(ids)
    assert len(set(ids)) == len(ids), "each event once, under its outbox id"
    paths: dict[tuple[str, int], list[ActivationEvent]] = defaultdict(list)
    for _, event in published:
        assert event.session_id == sid
        paths[(event.offer_id, event.period_index)].append(event)
    assert set(paths) == set(ledger)
    for key, row in ledger.items():
        states = [e.state.value for e in paths[key]]
        # The clearing's dispatch is reserved, a forwarded one is activated by the TSO or
        # released (and reserved again when it was the local dispatch), or activated locally.
        expected = ["reserved_local"] if key in dispatched else []
        if key in forwarded:
            expected.append("forwarded")
            if row["state"] == "reserved_local":
                expected.append("released")
        if not expected or expected[-1] != row["state"]:
            expected.append(row["state"])
        assert states == expected, (key, states)
        last: Any = paths[key][-1]
        assert (last.submitter_id, last.direction, last.market) == (
            row["submitter_id"],
            row["direction"],
            row["market"],
        )
        if row["state"] in ("activated_local", "activated_tso"):
            assert isinstance(last, OfferActivated)
            assert last.activated_mw == pytest.approx(row["activated_mw"])
            assert last.price_eur_per_mwh == row["price_eur_per_mwh"]
            assert last.amount_eur == row["amount_eur"]
        else:
            assert isinstance(last, OfferActivationChanged)
            assert last.p_mw == pytest.approx(row["p_mw"])
    # The local activation and a TSO activation, field by field.
    mine = paths[(big, 17)][-1]
    assert isinstance(mine, OfferActivated)
    assert (mine.submitter_id, mine.state.value, mine.market, mine.activated_mw) == (
        market.ids["agg"], "activated_local", "local", 0.5,
    )  # fmt: skip
    tso = next(e for es in paths.values() for e in es if e.state.value == "activated_tso")
    assert isinstance(tso, OfferActivated)
    assert tso.price_eur_per_mwh == pytest.approx(
        fw["marginal_prices_eur_per_mwh"][str(tso.period_index)]
    )
    assert tso.amount_eur == pytest.approx(tso.price_eur_per_mwh * tso.activated_mw)
    assert tso.forwarding_id == fw["id"]

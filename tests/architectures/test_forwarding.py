"""Forwarding to the TSO balancing market, end to end on a real nats-server and both database
backends: a CIGRE MV session cleared locally (`fmct-clear`), its unneeded offers checked by the
DSO's power flow (`dso-forward-check` job), forwarded over NATS to the emulated TSO balancing
adapter, activated, settled and shown per role.

References are independent of the gateway: pandapower's own power flow for the refused offer
(the CIGRE MV transformer it would overload) and a hand merit order for the TSO's activations
(cheapest up bids first, every activated bid paid the last one's price: pay-as-cleared, as on
MARI/PICASSO)."""

from __future__ import annotations

import pytest

from tests.architectures._session import BIG_DOWN_MW, cleared, settled
from tests.clearing._market import cigre_zone, open_book, pandapower_loading
from tests.market import Market

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("workers")]
EVENING = (17, 18, 19, 20)
UP_NEED_MW = 0.4


async def test_unneeded_offers_are_checked_forwarded_activated_and_settled(market: Market) -> None:
    book, big = await cleared(market)
    sid = book.session_id
    results = (
        await market.call("GET", f"/v1/market-sessions/{sid}/results", market.fmo_key)
    ).json()
    local = {
        (o["offer_id"], d["period_index"]): d["p_up_mw"] - d["p_down_mw"]
        for o in results["offers"]
        for d in o["dispatch"]
        if max(d["p_up_mw"], d["p_down_mw"]) > 1e-6
    }
    assert local, "the evening peak needs local flexibility"
    activations = (
        await market.call("GET", f"/v1/market-sessions/{sid}/activations", market.fmo_key)
    ).json()
    assert {(a["offer_id"], a["period_index"]) for a in activations} == set(local)
    # The clearing's dispatch is held for the local market (the DSO activates it near real time).
    assert {(a["state"], a["market"]) for a in activations} == {("reserved_local", "local")}

    needs = [{"period_index": t, "need_mw": UP_NEED_MW} for t in EVENING[:3]]
    needs.append({"period_index": 20, "need_mw": -2.0})  # long at 20:00: down bids
    body = {"product": "mFRR", "needs": needs}
    refused = await market.call("POST", f"/v1/market-sessions/{sid}/forwarding",
                                market.keys["agg"], body)  # fmt: skip
    assert refused.status_code == 403
    started = await market.call(
        "POST", f"/v1/market-sessions/{sid}/forwarding", market.keys["dso"], body
    )
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "checking"
    again = await market.call(
        "POST", f"/v1/market-sessions/{sid}/forwarding", market.keys["dso"], body
    )
    assert again.status_code == 409
    assert "forwarded already" in again.json()["detail"]

    fw = await settled(market, sid)
    assert fw["state"] == "settled", fw
    offers = fw["offers"]
    # Nothing the local market holds is a candidate of a plain forwarding.
    assert not {(o["offer_id"], o["period_index"]) for o in offers} & set(local)
    # The DSO check refuses the 3 MW load increase at bus 5 (20:00): pandapower's own power flow
    # of the cleared point plus that load puts the branch the reason names over its rating.
    (down,) = [o for o in offers if o["offer_id"] == big and o["period_index"] == 20]
    assert down["dso_check"] == "refused"
    element = down["reason"].split()[0]
    assert element.startswith(("line:", "trafo:")), down["reason"]
    injections: dict[int, float] = {}
    for (offer_id, t), p in local.items():
        if t == 20:
            node = next(o["node_mrid"] for o in results["offers"] if o["offer_id"] == offer_id)
            bus = int(node.removeprefix("cigre-mv-bus-"))
            injections[bus] = injections.get(bus, 0.0) + p
    assert pandapower_loading(20, injections)[element] <= 100.0 + 0.1
    injections[5] = injections.get(5, 0.0) - BIG_DOWN_MW
    loaded = pandapower_loading(20, injections)[element]
    assert loaded > 100.0
    assert f"{loaded:.1f}%" in down["reason"]

    # The TSO's activations: a hand merit order over the bids that passed, per period.
    for t in EVENING[:3]:
        bids = sorted(
            (o for o in offers if o["period_index"] == t and o["dso_check"] == "passed"),
            key=lambda o: (o["tso_price_eur_per_mwh"], o["offer_id"]),
        )
        assert bids, f"period {t}: something to forward"
        left, taken = UP_NEED_MW, []
        for o in bids:
            if left <= 1e-9:
                break
            taken.append((o, min(o["p_mw"], left)))
            left -= min(o["p_mw"], left)
        price = taken[-1][0]["tso_price_eur_per_mwh"]
        assert fw["marginal_prices_eur_per_mwh"][str(t)] == pytest.approx(price)
        for o in bids:
            act = o["activation"]
            mw = next((m for b, m in taken if b["offer_id"] == o["offer_id"]), 0.0)
            if mw > 0:
                assert act["state"] == "activated_tso"
                assert act["activated_mw"] == pytest.approx(mw)
                assert act["price_eur_per_mwh"] == pytest.approx(price)
                assert act["amount_eur"] == pytest.approx(price * mw * 1.0)  # 1 h periods
                assert act["price_eur_per_mwh"] >= o["tso_price_eur_per_mwh"]
            else:
                assert act["state"] == "released"
    assert fw["tso_payments_eur"] > 0.0

    # Each role sees its share: a seller its own offers, the TSO what passed the check.
    for alias in ("agg", "esp"):
        mine = (
            await market.call("GET", f"/v1/market-sessions/{sid}/forwarding", market.keys[alias])
        ).json()
        assert {o["submitter_id"] for o in mine["offers"]} == {market.ids[alias]}
        assert mine["checks"] == []
    tso = (
        await market.call("GET", f"/v1/market-sessions/{sid}/forwarding", market.keys["tso"])
    ).json()
    assert {o["dso_check"] for o in tso["offers"]} == {"passed"}

    # A local activation must fit the offer: its periods and its volume.
    wrong = await market.call(
        "POST",
        f"/v1/flex-offers/{book.offers['agg5']}/activations",
        market.keys["dso"],
        {"period_index": 3, "direction": "up", "p_mw": 9.0},
    )
    assert wrong.status_code == 422, wrong.text
    assert {e["location"] for e in wrong.json()["errors"]} == {"$.period_index", "$.p_mw"}
    # An offer the TSO activated cannot be activated locally: 409 saying why.
    won = next(o for o in offers if (o["activation"] or {}).get("state") == "activated_tso")
    clash = await market.call(
        "POST",
        f"/v1/flex-offers/{won['offer_id']}/activations",
        market.keys["dso"],
        {"period_index": won["period_index"], "direction": "up", "p_mw": 0.1},
    )
    assert clash.status_code == 409, clash.text
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert "activated_tso" in clash.json()["detail"]
    # The refused offer stayed with the local market: the DSO may still activate it there.
    ok = await market.call(
        "POST",
        f"/v1/flex-offers/{big}/activations",
        market.keys["dso"],
        {"period_index": 20, "direction": "down", "p_mw": 0.5},
    )
    assert ok.status_code == 201, ok.text
    assert (ok.json()["state"], ok.json()["market"]) == ("activated_local", "local")


async def test_forwarding_needs_a_cleared_session_and_needs_inside_it(market: Market) -> None:
    for alias, role in (("dso", "dso"), ("agg", "aggregator"), ("esp", "esp")):
        await market.participant(alias, role)
    zone = await cigre_zone(market, "dso")
    book = await open_book(market, zone, upstream_price=60.0)
    body = {"needs": [{"period_index": 18, "need_mw": 1.0}]}
    early = await market.call(
        "POST", f"/v1/market-sessions/{book.session_id}/forwarding", market.keys["dso"], body
    )
    assert early.status_code == 409
    assert "open" in early.json()["detail"]
    none = await market.call(
        "GET", f"/v1/market-sessions/{book.session_id}/forwarding", market.keys["dso"]
    )
    assert none.status_code == 404

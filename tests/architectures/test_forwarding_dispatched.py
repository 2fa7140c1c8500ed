"""Offers worth more to the TSO (`include_locally_dispatched`), end to end on a real nats-server:
a CIGRE MV session cleared locally, then forwarded with the offer-periods the local clearing
dispatched and nobody has activated yet.

* agg5 (0.5 MW up at bus 5, asking 95 EUR/MWh) is dispatched locally in the evening; it is bid to
  the TSO at the higher of its ask and bus 5's d-LMP in the clearing (what the local market pays),
  and the TSO, short 1.5 MW with nothing cheaper to take, activates it at the pay-as-cleared price
  set by esp12 (200 EUR/MWh): the owner is paid the TSO's price, a later local activation is 409.
* big (6 MW up at bus 11) is dispatched locally in part; the DSO check evaluates the grid without
  its local dispatch and with its 6 MW TSO activation, which overloads a line (pandapower's own
  power flow agrees), so it is refused, stays with the local market and can still be activated
  there.
* In a period where the TSO needs less than agg5's local dispatch, the TSO cannot take it (it is
  never activated below its local volume): it goes back to the local market (`reserved_local`).
* The session's results then show agg5's two taken offer-periods as moved to the TSO and pay them
  once, by the TSO: the local settlement (nodal) withdraws their d-LMP pay from agg and from the
  sellers' total, and the DSO's totals still add up.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.architectures._session import cleared, settled
from tests.clearing._market import pandapower_loading
from tests.market import Market

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("workers")]
BIG_UP_MW = 6.0
SHORT_MW = 1.5  # the TSO's need at 19:00 and 20:00: more than every bid but the refused one
SMALL_MW = 0.3  # its need at 18:00: less than agg5's local dispatch then


def _nodal_pay(results: dict[str, Any], offer_ids: set[str], skip: set[tuple[str, int]]) -> float:
    """What the nodal rule pays for these offers' dispatch (1 h periods) outside `skip`, from the
    public prices and the dispatch the results show."""
    price = {
        (p["period_index"], n["node_mrid"]): (n["p_eur_per_mwh"], n["q_eur_per_mvarh"])
        for p in results["periods"]
        for n in p["prices"]
    }
    total = 0.0
    for o in results["offers"]:
        if o["offer_id"] not in offer_ids:
            continue
        for d in o["dispatch"]:
            if (o["offer_id"], d["period_index"]) in skip:
                continue
            dlmp, qlmp = price[(d["period_index"], o["node_mrid"])]
            total += dlmp * (d["p_up_mw"] - d["p_down_mw"]) + qlmp * (
                d["q_up_mvar"] - d["q_down_mvar"]
            )
    return total


def _dispatch(results: dict[str, Any]) -> dict[tuple[str, int], tuple[float, ...]]:
    core = ("p_up_mw", "p_down_mw", "q_up_mvar", "q_down_mvar")
    return {
        (o["offer_id"], d["period_index"]): tuple(d[k] for k in core)
        for o in results["offers"]
        for d in o["dispatch"]
    }


def _assert_totals_add_up(results: dict[str, Any]) -> None:
    sellers = [p for p in results["payments"] if p["role"] == "seller"]
    buyers = [p for p in results["payments"] if p["role"] == "buyer"]
    received = sum(p["amount_eur"] + p["uplift_eur"] for p in sellers)
    assert results["sellers_received_eur"] == pytest.approx(received)
    assert results["buyers_paid_eur"] == pytest.approx(-sum(p["amount_eur"] for p in buyers))
    assert results["budget_balance_eur"] == pytest.approx(
        results["buyers_paid_eur"] - results["sellers_received_eur"]
    )
    assert results["moved_to_tso_eur"] == pytest.approx(sum(p["moved_to_tso_eur"] for p in sellers))
    assert results["tso_paid_eur"] == pytest.approx(sum(p["tso_amount_eur"] for p in sellers))
    for p in results["payments"]:
        assert p["total_eur"] == pytest.approx(
            p["amount_eur"] + p["uplift_eur"] + p["tso_amount_eur"]
        )


async def _assert_paid_once(
    market: Market, sid: str, before: dict[str, Any], fw: dict[str, Any], agg5: str
) -> None:
    """After the TSO took agg5 at 19:00 and 20:00: the results show both as moved to the TSO and
    the local settlement no longer pays them; everything else is as the clearing settled it."""
    taken = {(agg5, 19), (agg5, 20)}
    tso_pay = 2 * 200.0 * 0.5  # two periods, 0.5 MW at the TSO's 200 EUR/MWh
    agg_offers = {o["offer_id"] for o in before["offers"] if o["submitter_id"] == market.ids["agg"]}
    url = f"/v1/market-sessions/{sid}/results"
    after = (await market.call("GET", url, market.keys["dso"])).json()
    assert after["view"] == "full"

    moved = {
        (o["offer_id"], d["period_index"]): d
        for o in after["offers"]
        for d in o["dispatch"]
        if d["moved_to_tso"]
    }
    assert set(moved) == taken
    withdrawn = 0.0
    for key, d in moved.items():
        assert d["forwarding_id"] == fw["id"]
        assert d["tso_activated_mw"] == pytest.approx(0.5)
        assert d["tso_price_eur_per_mwh"] == pytest.approx(200.0)
        assert d["tso_amount_eur"] == pytest.approx(100.0)
        # What the nodal rule paid for this offer-period alone.
        alone = _nodal_pay(after, {agg5}, set()) - _nodal_pay(after, {agg5}, {key})
        assert d["withdrawn_local_eur"] == pytest.approx(alone)
        withdrawn += d["withdrawn_local_eur"]
    assert withdrawn > 0.0
    # The dispatch itself is the clearing's, as before the move.
    assert _dispatch(after) == _dispatch(before)

    pay = {(p["participant_id"], p["role"]): p for p in after["payments"]}
    was = {(p["participant_id"], p["role"]): p for p in before["payments"]}
    agg, agg_before = pay[(market.ids["agg"], "seller")], was[(market.ids["agg"], "seller")]
    # Before: agg was paid the d-LMP for all its dispatch (the nodal rule, no uplift here).
    assert agg_before["amount_eur"] == pytest.approx(_nodal_pay(before, agg_offers, set()))
    assert agg_before["uplift_eur"] == pytest.approx(0.0)
    # After: locally only for the offer-periods it kept; the TSO pays the taken ones.
    assert agg["amount_eur"] == pytest.approx(_nodal_pay(after, agg_offers, taken))
    assert agg["amount_eur"] == pytest.approx(agg_before["amount_eur"] - withdrawn)
    assert agg["moved_to_tso_eur"] == pytest.approx(withdrawn)
    assert agg["tso_amount_eur"] == pytest.approx(tso_pay)
    assert agg["total_eur"] == pytest.approx(_nodal_pay(after, agg_offers, taken) + tso_pay)
    assert agg["bid_value_eur"] == pytest.approx(agg_before["bid_value_eur"])
    # Nobody else's payment changes.
    for key, p in pay.items():
        if key != (market.ids["agg"], "seller"):
            assert p["amount_eur"] == pytest.approx(was[key]["amount_eur"])
            assert (p["moved_to_tso_eur"], p["tso_amount_eur"]) == (0.0, 0.0)

    # The DSO's local settlement: the sellers' total drops by what was withdrawn, buyers pay
    # the same, and every total is the sum over its owners.
    _assert_totals_add_up(before)
    _assert_totals_add_up(after)
    assert before["moved_to_tso_eur"] == 0.0
    assert after["moved_to_tso_eur"] == pytest.approx(withdrawn)
    assert after["tso_paid_eur"] == pytest.approx(tso_pay)
    assert after["sellers_received_eur"] == pytest.approx(
        before["sellers_received_eur"] - withdrawn
    )
    assert after["buyers_paid_eur"] == pytest.approx(before["buyers_paid_eur"])
    assert after["budget_balance_eur"] == pytest.approx(before["budget_balance_eur"] + withdrawn)

    # The owner sees the same in its own view; the FMO sees what the DSO sees.
    own = (await market.call("GET", url, market.keys["agg"])).json()
    assert own["view"] == "participant"
    assert own["budget_balance_eur"] is None
    assert own["payments"] == [agg]
    assert {
        (o["offer_id"], d["period_index"])
        for o in own["offers"]
        for d in o["dispatch"]
        if d["moved_to_tso"]
    } == taken
    fmo = (await market.call("GET", url, market.fmo_key)).json()
    assert fmo["payments"] == after["payments"]


async def _cleared_with_big(market: Market) -> tuple[str, dict[str, str]]:
    book, big = await cleared(
        market,
        {"node_mrid": "cigre-mv-bus-11", "p_up_mw": BIG_UP_MW, "price_p_up_eur_per_mwh": 100.0},
    )
    return book.session_id, {**book.offers, "big": big}


async def test_locally_dispatched_offers_go_to_the_tso_when_it_pays_more(market: Market) -> None:
    sid, offers = await _cleared_with_big(market)
    results = (
        await market.call("GET", f"/v1/market-sessions/{sid}/results", market.fmo_key)
    ).json()
    assert not any(d["moved_to_tso"] for o in results["offers"] for d in o["dispatch"])
    node = {o["offer_id"]: o["node_mrid"] for o in results["offers"]}
    local = {
        (o["offer_id"], d["period_index"]): d["p_up_mw"]
        for o in results["offers"]
        for d in o["dispatch"]
        if d["p_up_mw"] > 1e-6
    }
    price = {
        (p["period_index"], n["node_mrid"]): n["p_eur_per_mwh"]
        for p in results["periods"]
        for n in p["prices"]
    }
    agg5, big = offers["agg5"], offers["big"]
    assert local.get((agg5, 18), 0.0) > SMALL_MW, local
    for t in (19, 20):
        assert (agg5, t) in local, local
        assert 1e-6 < local[(big, t)] < BIG_UP_MW, local

    needs = [
        {"period_index": 18, "need_mw": SMALL_MW},
        {"period_index": 19, "need_mw": SHORT_MW},
        {"period_index": 20, "need_mw": SHORT_MW},
    ]
    started = await market.call(
        "POST",
        f"/v1/market-sessions/{sid}/forwarding",
        market.keys["dso"],
        {"needs": needs, "include_locally_dispatched": True},
    )
    assert started.status_code == 202, started.text
    fw = await settled(market, sid)
    assert fw["state"] == "settled", fw
    by_key = {(o["offer_id"], o["period_index"]): o for o in fw["offers"]}

    # Every offer-period dispatched locally (up, in a period of an up need) is a candidate,
    # with its local volume and a bid no lower than the local market pays (its node's d-LMP).
    for (offer_id, t), mw in local.items():
        if t not in (18, 19, 20):
            continue
        cand = by_key[(offer_id, t)]
        assert cand["local_mw"] == pytest.approx(mw)
        ask = 95.0 if offer_id == agg5 else None
        assert cand["tso_price_eur_per_mwh"] >= price[(t, node[offer_id])] - 1e-9
        if ask is not None:
            assert cand["tso_price_eur_per_mwh"] == pytest.approx(
                max(ask, price[(t, node[offer_id])])
            )

    # agg5 at 19:00 and 20:00: the TSO takes it and pays its marginal price, more than the
    # local market pays.
    for t in (19, 20):
        cand = by_key[(agg5, t)]
        assert cand["dso_check"] == "passed", cand
        act = cand["activation"]
        assert (act["state"], act["market"]) == ("activated_tso", "tso")
        assert act["activated_mw"] == pytest.approx(0.5)
        tso_price = fw["marginal_prices_eur_per_mwh"][str(t)]
        assert tso_price == pytest.approx(200.0)  # esp12's bid closes the merit order
        assert tso_price > price[(t, node[agg5])]
        assert act["price_eur_per_mwh"] == pytest.approx(tso_price)
        assert act["amount_eur"] == pytest.approx(tso_price * 0.5)

    # big: without its local dispatch and with its 6 MW TSO activation, a branch overloads.
    for t in (19, 20):
        cand = by_key[(big, t)]
        assert cand["dso_check"] == "refused", cand
        element = cand["reason"].split()[0]
        assert element.startswith(("line:", "trafo:")), cand["reason"]
        injections: dict[int, float] = {}
        for (offer_id, tt), mw in local.items():
            if tt == t:
                bus = int(node[offer_id].removeprefix("cigre-mv-bus-"))
                injections[bus] = injections.get(bus, 0.0) + mw
        assert pandapower_loading(t, injections)[element] <= 100.0 + 0.1
        injections[11] += BIG_UP_MW - local[(big, t)]  # its TSO activation replaces its dispatch
        loaded = pandapower_loading(t, injections)[element]
        assert loaded > 100.0
        assert f"{loaded:.1f}%" in cand["reason"]
        assert cand["activation"]["state"] == "reserved_local"  # still the local market's

    # agg5 at 18:00: the TSO needs less than its local dispatch, so it cannot take it; it is the
    # local market's again.
    back = by_key[(agg5, 18)]
    assert back["dso_check"] == "passed"
    assert (back["activation"]["state"], back["activation"]["market"]) == (
        "reserved_local",
        "local",
    )

    # The session's results pay agg5's taken offer-periods once: by the TSO, not locally.
    await _assert_paid_once(market, sid, results, fw, agg5)

    # The owner sees the TSO's activation and payment of its offer.
    mine = (
        await market.call("GET", f"/v1/market-sessions/{sid}/activations", market.keys["agg"])
    ).json()
    got: dict[tuple[str, int], Any] = {(a["offer_id"], a["period_index"]): a for a in mine}
    assert {a["submitter_id"] for a in mine} == {market.ids["agg"]}
    assert got[(agg5, 19)]["state"] == "activated_tso"
    assert got[(agg5, 19)]["amount_eur"] == pytest.approx(200.0 * 0.5)

    # One activation per offer-period: the TSO's activation of a locally dispatched offer-period
    # takes it from the local market (409 naming it); the refused and the returned ones stay
    # there and the DSO may activate them.
    clash = await market.call(
        "POST",
        f"/v1/flex-offers/{agg5}/activations",
        market.keys["dso"],
        {"period_index": 19, "direction": "up", "p_mw": 0.5},
    )
    assert clash.status_code == 409, clash.text
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert "activated_tso" in clash.json()["detail"]
    for offer_id, t in ((big, 19), (agg5, 18)):
        ok = await market.call(
            "POST",
            f"/v1/flex-offers/{offer_id}/activations",
            market.keys["dso"],
            {"period_index": t, "direction": "up", "p_mw": local[(offer_id, t)]},
        )
        assert ok.status_code == 201, ok.text
        assert (ok.json()["state"], ok.json()["market"]) == ("activated_local", "local")

"""The results' rule for offer-periods the TSO took from the clearing (`activated_tso`), under each
payment rule, on hand-made clearing outputs (pure: no database, no engine).

One seller `s` with offer `a` (bus n1, 1 MW up at 100 EUR/MWh in periods 0 and 1) and one buyer `b`;
1 h periods. The TSO takes `a` in period 1 and pays 300 EUR for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engines.fmct.clearing_job import ClearingJobOutput
from engines.fmct.schema import ClearingResult, OfferDispatch, Payment, PeriodResult
from gateway.domain.results.moved import OfferPrices, TsoTake
from gateway.domain.results.views import OrderInfo, StoredResult, market_results
from gateway.messages.results import MarketResults, OrderOutcome
from gateway.messages.sessions import PaymentRule, SessionState

ASK = 100.0
TAKEN = {("a", 1): TsoTake("fw-1", 1.0, 300.0, 300.0)}
PRICES = {"a": OfferPrices("s", "n1", ASK, 0.0, 0.0)}
ORDERS = [
    OrderInfo("a", "offer", "s", "n1", OrderOutcome.ACCEPTED),
    OrderInfo("r", "request", "b", "n1", OrderOutcome.ACCEPTED),
]


def _period(index: int, dlmp: float, mw: float = 1.0) -> PeriodResult:
    return PeriodResult(
        period_index=index,
        offers=[OfferDispatch(offer_id="a", p_up_mw=mw, p_down_mw=0.0, q_up_mvar=0.0, q_down_mvar=0.0)],
        requests=[],
        vm_pu={},
        branch_loading_percent={},
        binding_branches=[],
        voltage_deviations=[],
        dlmp_p_eur_per_mwh={"n1": dlmp},
        qlmp_eur_per_mvarh={"n1": 0.0},
        upstream_p_mw=0.0,
        losses_mw=0.0,
    )  # fmt: skip


def _results(
    rule: PaymentRule,
    dlmps: tuple[float, float],
    seller: Payment,
    taken: dict[tuple[str, int], TsoTake],
    caller_id: str | None = None,
    mw: tuple[float, float] = (1.0, 1.0),
) -> MarketResults:
    buyer = Payment(participant_id="b", role="buyer", amount_eur=-500.0, bid_value_eur=600.0)
    received = seller.amount_eur + seller.uplift_eur
    result = ClearingResult(
        status="optimal",
        condition="",
        message="",
        method="acopf",
        pricing=rule.value,
        periods=[_period(0, dlmps[0], mw[0]), _period(1, dlmps[1], mw[1])],
        payments=[seller, buyer],
        budget_balance_eur=500.0 - received,
    )
    stored = StoredResult(
        session_id="sess",
        zone_id="zone",
        state=SessionState.CLEARED,
        payment_rule=rule,
        delivery_start=datetime(2026, 1, 1, tzinfo=UTC),
        resolution=timedelta(hours=1),
        job_id=None,
        status="optimal",
        condition="",
        message="",
        decided_at=datetime(2026, 1, 1, tzinfo=UTC),
        output=ClearingJobOutput(session_id="sess", result=result),
    )
    return market_results(stored, ORDERS, caller_id, taken=taken, offer_prices=PRICES)


def _seller(results: MarketResults) -> tuple[float, float, float, float, float]:
    (p,) = [p for p in results.payments if p.role == "seller"]
    return p.amount_eur, p.uplift_eur, p.moved_to_tso_eur, p.tso_amount_eur, p.total_eur


def _consistent(results: MarketResults) -> None:
    sellers = [p for p in results.payments if p.role == "seller"]
    received, paid = results.sellers_received_eur, results.buyers_paid_eur
    assert received == pytest.approx(sum(p.amount_eur + p.uplift_eur for p in sellers))
    assert paid == pytest.approx(500.0)
    assert received is not None
    assert paid is not None
    assert results.budget_balance_eur == pytest.approx(paid - received)
    assert results.moved_to_tso_eur == pytest.approx(sum(p.moved_to_tso_eur for p in sellers))
    assert results.tso_paid_eur == pytest.approx(sum(p.tso_amount_eur for p in sellers))


def test_pay_as_bid_withdraws_the_bid_cost_of_the_taken_period() -> None:
    seller = Payment(participant_id="s", role="seller", amount_eur=200.0, bid_value_eur=200.0)
    got = _results(PaymentRule.PAY_AS_BID, (120.0, 150.0), seller, TAKEN)
    assert _seller(got) == pytest.approx((100.0, 0.0, 100.0, 300.0, 400.0))
    (offer,) = got.offers
    kept, moved = offer.dispatch
    assert not kept.moved_to_tso
    assert kept.withdrawn_local_eur is None
    assert moved.moved_to_tso
    assert moved.forwarding_id == "fw-1"
    assert moved.tso_amount_eur == 300.0
    assert moved.withdrawn_local_eur == pytest.approx(100.0)
    assert moved.p_up_mw == 1.0  # the clearing's dispatch, as it was
    assert got.budget_balance_eur == pytest.approx(400.0)  # 500 paid - 100 received
    _consistent(got)


def test_nodal_withdraws_the_dlmp_pay_and_recomputes_the_order_uplift() -> None:
    # Over both periods the d-LMP pays 50 + 150 = 200 = its ask: no uplift. Kept alone, period 0
    # pays 50 for an ask of 100: the make-whole uplift of what it keeps is 50.
    seller = Payment(participant_id="s", role="seller", amount_eur=200.0, bid_value_eur=200.0)
    got = _results(PaymentRule.NODAL, (50.0, 150.0), seller, TAKEN)
    amount, uplift, moved, tso, total = _seller(got)
    assert (amount, uplift, tso) == pytest.approx((50.0, 50.0, 300.0))
    assert moved == pytest.approx(150.0 - 50.0)  # 150 withdrawn, 50 uplift added
    assert total == pytest.approx(50.0 + 50.0 + 300.0)
    assert got.offers[0].dispatch[1].withdrawn_local_eur == pytest.approx(150.0)
    _consistent(got)


def test_vcg_withdraws_the_bid_cost_and_its_share_of_the_welfare_term() -> None:
    # VCG paid 260 for a bid cost of 200: 60 of welfare, half of it the taken period's (by cost).
    seller = Payment(participant_id="s", role="seller", amount_eur=260.0, bid_value_eur=200.0)
    got = _results(PaymentRule.VCG, (0.0, 0.0), seller, TAKEN)
    assert _seller(got) == pytest.approx((130.0, 0.0, 130.0, 300.0, 430.0))
    _consistent(got)


def test_an_offer_period_the_clearing_did_not_dispatch_is_not_moved() -> None:
    # A plain forwarding: the TSO took a period the clearing left at 0 MW; nothing local to undo.
    seller = Payment(participant_id="s", role="seller", amount_eur=100.0, bid_value_eur=100.0)
    got = _results(PaymentRule.PAY_AS_BID, (120.0, 150.0), seller, TAKEN, mw=(1.0, 0.0))
    assert _seller(got) == pytest.approx((100.0, 0.0, 0.0, 0.0, 100.0))
    assert not any(d.moved_to_tso for d in got.offers[0].dispatch)
    assert got.budget_balance_eur == pytest.approx(400.0)


def test_nothing_taken_leaves_the_clearing_settlement_as_it_was() -> None:
    seller = Payment(participant_id="s", role="seller", amount_eur=200.0, bid_value_eur=200.0)
    got = _results(PaymentRule.NODAL, (100.0, 100.0), seller, {})
    assert _seller(got) == (200.0, 0.0, 0.0, 0.0, 200.0)
    assert got.budget_balance_eur == 300.0
    _consistent(got)


def test_the_participant_view_shows_its_own_moved_period_and_no_totals() -> None:
    seller = Payment(participant_id="s", role="seller", amount_eur=200.0, bid_value_eur=200.0)
    got = _results(PaymentRule.PAY_AS_BID, (120.0, 150.0), seller, TAKEN, caller_id="s")
    assert [p.participant_id for p in got.payments] == ["s"]
    assert _seller(got) == pytest.approx((100.0, 0.0, 100.0, 300.0, 400.0))
    assert got.offers[0].dispatch[1].moved_to_tso
    assert (got.budget_balance_eur, got.sellers_received_eur, got.tso_paid_eur) == (None,) * 3
    buyer = _results(PaymentRule.PAY_AS_BID, (120.0, 150.0), seller, TAKEN, caller_id="b")
    assert [p.participant_id for p in buyer.payments] == ["b"]
    assert buyer.offers == []

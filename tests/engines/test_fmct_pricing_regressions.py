"""Regressions of the payment rules, as plain examples (found by the property tests)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from engines.fmct.clearing import clear
from engines.fmct.market import period_flex
from engines.fmct.milp import solve_milp
from engines.fmct.network import bus_keys, period_grid
from engines.fmct.schema import (
    ClearingOffer,
    ClearingOptions,
    ClearingRequest,
    ClearingResult,
    PeriodSchedule,
)
from tests.engines._fmct_cases import congested_feeder, feeder

pytestmark = pytest.mark.unit
START = datetime(2025, 1, 1, tzinfo=UTC)
SCHEDULES = [
    PeriodSchedule(period_index=i, start=START, load_scaling=s) for i, s in enumerate((0.8, 1.0))
]


def _offer(oid: str, seller: str, price: float, periods: list[int], block: bool) -> ClearingOffer:
    return ClearingOffer(
        id=oid,
        seller_id=seller,
        bus="1",
        p_up_mw=0.25,
        price_p_up_eur_per_mwh=price,
        block=block,
        periods=periods,
    )


REQUEST = ClearingRequest(
    id="r0",
    buyer_id="b0",
    bus="1",
    direction="up",
    p_mw=0.25,
    price_p_eur_per_mwh=20.0,
    periods=[0, 1],
)
# the CI failure (reproduce blob AXicY3RkcGTUsL...): a block in period 0 and, in period 1, an offer
# priced exactly at the request's value that the solver dispatches at 9e-8 MW (noise)
CI_BOOK = [
    _offer("o0", "s0", 5.0, [0], block=True),
    _offer("o1", "s1", 20.0, [1], block=False),
]
# the shrunk example as printed in the CI log
PRINTED_BOOK = [_offer("o0", "s0", 5.0, [1], block=False)]


def _vcg(net: object, offers: list[ClearingOffer], upstream: float | None) -> ClearingResult:
    return clear(
        net,
        SCHEDULES,
        [REQUEST],
        offers,
        ClearingOptions(
            method="milp", pricing="vcg", v_min_pu=0.85, upstream_price_eur_per_mwh=upstream
        ),
    )


def _assert_individually_rational(res: ClearingResult) -> None:
    assert res.status == "optimal"
    assert res.all_offers_paid_at_least_price
    sellers = [p for p in res.payments if p.role == "seller"]
    assert sellers
    for p in sellers:
        assert p.amount_eur >= p.bid_value_eur - 1e-6 * (1 + abs(p.bid_value_eur)), p
    assert not [f for f in res.findings if f.code == "vcg_negative_contribution"]


@pytest.mark.parametrize("upstream", [None, 30.0])
@pytest.mark.parametrize("book", [CI_BOOK, PRINTED_BOOK], ids=["ci-blob", "printed"])
def test_vcg_pays_every_accepted_seller_at_least_its_bid(
    book: list[ClearingOffer], upstream: float | None
) -> None:
    res = _vcg(feeder(), book, upstream)
    _assert_individually_rational(res)
    if upstream is None:
        assert res.objective_eur == pytest.approx(-3.75, abs=1e-4)
        s0 = next(p for p in res.payments if p.participant_id == "s0")
        # s0 alone serves the request: paid its bid plus the whole surplus (20 - 5) * 0.25
        assert s0.amount_eur == pytest.approx(5.0, abs=1e-4)


def test_vcg_on_a_congested_feeder_with_ac_corrections() -> None:
    """The AC loop re-linearises and tightens ratings: the re-solves must use that final model."""
    offers = [
        ClearingOffer(
            id=f"o{b}",
            seller_id=f"s{b}",
            bus=str(b),
            p_up_mw=0.3,
            price_p_up_eur_per_mwh=10.0 + b,
            periods=[0, 1],
        )
        for b in (3, 8, 12, 20)
    ]
    req = ClearingRequest(
        id="r0",
        buyer_id="b0",
        bus="0",
        direction="up",
        p_mw=0.6,
        price_p_eur_per_mwh=60.0,
        periods=[0, 1],
    )
    res = clear(
        congested_feeder(0.95),
        SCHEDULES,
        [req],
        offers,
        ClearingOptions(method="milp", pricing="vcg", v_min_pu=0.85),
    )
    _assert_individually_rational(res)


def test_milp_model_resolve_without_is_never_better_than_with() -> None:
    """The re-solve is the clearing's own final model, only with a participant's bounds at zero."""
    net = feeder()
    built = [period_grid(net, s, v_min_pu=0.85, v_max_pu=1.1) for s in SCHEDULES]
    grids = [g for g, _ in built]
    work = built[0][1]
    lookup = work._pd2ppc_lookups["bus"]
    bus_index = {k: int(lookup[i]) for k, i in bus_keys(work).items()}
    flexes = [period_flex(g, t, CI_BOOK, [REQUEST], bus_index) for t, g in enumerate(grids)]
    out = solve_milp(grids, flexes, CI_BOOK, [0, 1], [1.0, 1.0], ClearingOptions(method="milp"))
    model = out.model
    assert model is not None
    none = [np.zeros(len(f.owner), bool) for f in flexes]
    assert model.objective_without(none) == model.objective_eur
    for owner in range(len(CI_BOOK)):
        masks = [(f.owner_kind == 0) & (f.owner == owner) for f in flexes]
        alt = model.objective_without(masks)
        assert alt is not None
        assert alt >= model.objective_eur - model.noise_eur(alt)

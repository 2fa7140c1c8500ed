"""The two markets of the architectures, one period at a time: the wholesale auction given the
distribution area's withdrawal at the coupling bus (TSO side), and the distribution clearing given a
coupling price or a fixed exchange (DSO side, the FMCT engine's AC-OPF clearing)."""

from __future__ import annotations

from dataclasses import dataclass

from engines.fmct.clearing import clear
from engines.fmct.schema import ClearingOffer, ClearingOptions, ClearingResult
from engines.markets.day_ahead import coupling_price, period_auction
from engines.markets.dcgrid import case_grid
from engines.markets.scenario import Scenario
from engines.markets.wholesale_port import DayAheadClearing
from gateway.messages.wholesale import DayAheadResult


class SideFailed(RuntimeError):
    """A side market has no optimal solution: the architecture reports it as its status."""


@dataclass(frozen=True)
class TsoOutcome:
    tlmp: float
    cost_eur: float
    result: DayAheadResult


@dataclass(frozen=True)
class DsoOutcome:
    import_mw: float
    flex_cost_eur: float
    curtailed_mwh: float
    result: ClearingResult


class TsoSide:
    """The wholesale market through its port: one auction per question (a TLMP, a cost)."""

    def __init__(self, scenario: Scenario, market: DayAheadClearing) -> None:
        self.scenario = scenario
        self.market = market
        self._orders = scenario.generators
        self._bus_ids = list(case_grid(scenario.network).bus_ids)

    def clear(self, t: int, dso_import_mw: float) -> TsoOutcome:
        auction = period_auction(self.scenario, t, dso_import_mw, self._orders, self._bus_ids)
        result = self.market.clear(auction)
        if result.status != "optimal" or result.generation_cost_eur is None:
            raise SideFailed(f"wholesale period {t}: {result.status} {result.message}")
        return TsoOutcome(coupling_price(result, self.scenario), result.generation_cost_eur, result)


class DsoSide:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def clear(self, t: int, price: float | None,
              extra: list[ClearingOffer] | None = None) -> DsoOutcome:  # fmt: skip
        """``price``: the coupling point priced at it; None: the exchange fixed at its scheduled
        value (energy-neutral redispatch; ``extra`` offers at the coupling bus may move it)."""
        sc = self.scenario
        offers = sc.offers(t) + list(extra or [])
        result = clear(
            sc.feeder,
            [sc.schedule(t)],
            [],
            offers,
            ClearingOptions(upstream_price_eur_per_mwh=price),
        )
        if result.status != "optimal":
            raise SideFailed(f"distribution period {t}: {result.status} {result.message}")
        (period,) = result.periods
        priced = {o.id: o for o in sc.offers(t)}
        flex = curtailed = 0.0
        bus0 = 0.0
        for d in period.offers:
            o = priced.get(d.offer_id)
            if o is None:  # a coupling-segment offer of the central model: more or less import
                bus0 += d.p_up_mw - d.p_down_mw
                continue
            flex += o.price_p_up_eur_per_mwh * d.p_up_mw + o.price_p_down_eur_per_mwh * d.p_down_mw
            if sc.is_res(o.id):
                curtailed += d.p_down_mw
        return DsoOutcome(period.upstream_p_mw + bus0, flex, curtailed, result)

"""The architecture scenario: a 33-bus Baran-Wu feeder (pandapower ``case33bw``) under one bus of a
MATPOWER transmission case, over one day of hourly periods.

* Transmission: the case's generators offer their quadratic cost curves as step orders (each unit's
  range cut into ``steps`` equal steps priced at the exact average cost of the step, i.e. the piecewise
  linear interpolation of the curve), costs times ``price_scale`` (case30's marginal costs of 2-4 per
  MWh become prices of a European day-ahead market); the case's loads follow a daily profile.
* Distribution: feeder loads follow a residential profile; two PV plants downstream of line 5 follow
  a clear-sky profile; line 5 (bus 5 -> 6) is rated below its peak-hour current, so the feeder congests
  in the evening peak and in reverse at midday. Flexibility: four aggregators (load reduction "up",
  load increase "down") and curtailment "down" offers of the PV plants.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pandapower as pp

from engines.fmct.schema import ClearingOffer, PeriodSchedule
from engines.markets.dcgrid import TransmissionCase, load_case
from engines.markets.realisation import day_errors, realised_pv
from gateway.messages.imbalance import ForecastErrors
from gateway.messages.wholesale import WholesaleOrder

PV_BUSES = (13, 16)


def _profile(hour: int, low: float, high: float, peak_hour: float, width: float) -> float:
    return low + (high - low) * math.exp(-(((hour - peak_hour) / width) ** 2))


def system_profile(hour: int) -> float:
    """Transmission load factor: night valley 0.75, evening peak 1.1."""
    return _profile(hour, 0.75, 1.1, 18.5, 5.0)


def feeder_profile(hour: int) -> float:
    """Residential feeder load factor: 0.45 at night, 1.1 at the 19:00 peak."""
    return _profile(hour, 0.45, 1.1, 19.0, 3.5)


def pv_profile(hour: int) -> float:
    """Clear-sky PV output factor, zero at night, 1 at 13:00."""
    return max(0.0, math.cos((hour - 13.0) / 7.0 * math.pi / 2)) ** 1.5 if 6 <= hour <= 20 else 0.0


def generator_orders(
    case: TransmissionCase, steps: int, price_scale: float
) -> list[WholesaleOrder]:
    net = load_case(case)
    costs = {(c.et, int(c.element)): c for c in net.poly_cost.itertuples()}
    orders: list[WholesaleOrder] = []
    for element in ("ext_grid", "gen"):
        for idx, row in net[element].iterrows():
            cost = costs[(element, int(idx))]
            lo, hi = float(row.min_p_mw), float(row.max_p_mw)
            width = (hi - lo) / steps
            for s in range(steps):
                a, b = lo + s * width, lo + (s + 1) * width
                avg = float(cost.cp1_eur_per_mw) + float(cost.cp2_eur_per_mw2) * (a + b)
                orders.append(WholesaleOrder(
                    id=f"{element}-{idx}-s{s}", participant_id=f"gen-{element}-{idx}",
                    side="sell", bus=str(int(row.bus)), quantity_mw=round(width, 9),
                    price_eur_per_mwh=round(avg * price_scale, 9), periods=[0],
                ))  # fmt: skip
    return orders


def feeder_net(congested_line: int = 5, rating_share: float = 0.8) -> Any:
    """case33bw with PV plants and line 5 rated at ``rating_share`` of its base-case current."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower.networks as pn

        net = pn.case33bw()
        probe = copy.deepcopy(net)
        pp.runpp(probe, numba=False)
    net.line.loc[congested_line, "max_i_ka"] = (
        float(probe.res_line.at[congested_line, "i_ka"]) * rating_share
    )
    for bus in PV_BUSES:
        pp.create_sgen(net, bus, p_mw=1.0, q_mvar=0.0, name=f"pv-{bus}", type="PV")
    return net


@dataclass(frozen=True)
class Scenario:
    network: TransmissionCase = "case30"
    coupling_bus: str = "29"
    periods: int = 24
    start: datetime = datetime(2026, 6, 15, 22, 0, tzinfo=UTC)
    steps: int = 4
    price_scale: float = 15.0
    feeder: Any = field(default_factory=feeder_net, compare=False)
    forecast_errors: ForecastErrors = field(default_factory=ForecastErrors)

    @property
    def generators(self) -> list[WholesaleOrder]:
        return generator_orders(self.network, self.steps, self.price_scale)

    def hour(self, t: int) -> int:
        return (self.start + timedelta(hours=t + 2)).hour  # CEST local hour of period t

    def system_scaling(self, t: int) -> float:
        return system_profile(self.hour(t))

    def schedule(self, t: int) -> PeriodSchedule:
        return PeriodSchedule(
            period_index=t,
            start=self.start + timedelta(hours=t),
            load_scaling=feeder_profile(self.hour(t)),
            sgen_scaling=pv_profile(self.hour(t)),
        )

    def realised_schedule(self, t: int) -> PeriodSchedule:
        """Period ``t`` as it happened: the day-ahead schedule with the day's forecast errors."""
        load_error, pv_error = day_errors(self.forecast_errors)
        forecast = self.schedule(t)
        return msgspec.structs.replace(
            forecast,
            load_scaling=forecast.load_scaling * max(1.0 + load_error[t], 0.0),
            sgen_scaling=realised_pv(forecast.sgen_scaling, pv_error[t]),
        )

    def offers(self, t: int) -> list[ClearingOffer]:
        """The period's flexibility (prices already in the scaled EUR/MWh of the market)."""
        pv = pv_profile(self.hour(t)) * 1.0
        out = [
            ClearingOffer(
                id=f"agg-{bus}-t{t}",
                seller_id=f"aggregator-{bus}",
                bus=str(bus),
                p_up_mw=0.4,
                p_down_mw=dn_mw,
                price_p_up_eur_per_mwh=up,
                price_p_down_eur_per_mwh=down,
                periods=[t],
            )
            for bus, dn_mw, up, down in (
                (9, 0.1, 62.0, -48.0),
                (14, 0.2, 70.0, -52.0),
                (24, 0.3, 58.0, -55.0),
                (30, 0.3, 66.0, -45.0),
            )
        ]
        if pv > 1e-6:
            out += [
                ClearingOffer(
                    id=f"pv-{bus}-t{t}",
                    seller_id=f"pv-{bus}",
                    bus=str(bus),
                    p_down_mw=pv,
                    price_p_down_eur_per_mwh=-20.0,
                    periods=[t],
                )
                for bus in PV_BUSES
            ]
        return out

    def is_res(self, offer_id: str) -> bool:
        return offer_id.startswith("pv-")

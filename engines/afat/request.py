"""A FlexRequest as the numbers the optimisation needs: requested slots, direction sign, and
the bounds and price the request puts on the portfolio's aggregate prosumption `P_t`.

With `sign` +1 for `up` and -1 for `down`, flexibility is `F_t = sign * (B_t - P_t)` against
the baseline `B_t`. Selling `F_t` at `theta * price_t` adds `-theta * price_t * F_t` to the
cost to minimise, i.e. `sign * theta * price_t` per kW of `P_t` (plus a constant).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.afat.lp import FloatArray, IntArray
from engines.afat.schema import AggregationInput


@dataclass(frozen=True)
class RequestTerms:
    requested: IntArray
    sign: float
    volume_kw: FloatArray  # per slot of the horizon
    price_eur_per_mwh: FloatArray  # per slot of the horizon
    energy_price_eur_per_mwh: FloatArray
    slot_hours: float

    @classmethod
    def of(cls, data: AggregationInput) -> RequestTerms:
        volume = np.asarray(data.request.volume_mw, dtype=np.float64) * 1000
        return cls(
            requested=np.flatnonzero(volume > 0).astype(np.int64),
            sign=1.0 if data.request.direction == "up" else -1.0,
            volume_kw=volume,
            price_eur_per_mwh=np.asarray(data.request.price_eur_per_mwh, dtype=np.float64),
            energy_price_eur_per_mwh=np.asarray(data.energy_price_eur_per_mwh, dtype=np.float64),
            slot_hours=data.slot_hours,
        )

    def p_cost(self, theta: float) -> FloatArray:
        """Cost per kW of `P_t` (per requested slot) when flexibility sells at theta * price."""
        return self.sign * theta * self.price_eur_per_mwh[self.requested] / 1000 * self.slot_hours

    def p_bounds(
        self, baseline_kw: FloatArray, floor_kw: FloatArray, ceil_kw: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Bounds on `P_t` (requested slots) that keep `F_t` within [floor, ceil]."""
        b = baseline_kw[self.requested]
        one = b - self.sign * floor_kw
        other = b - self.sign * ceil_kw
        return np.minimum(one, other), np.maximum(one, other)

    def flexibility_kw(self, baseline_kw: FloatArray, p_kw: FloatArray) -> FloatArray:
        """`F_t` in the requested slots from `P_t` there."""
        return self.sign * (baseline_kw[self.requested] - p_kw)

    def flex_price_from_duals(self, balance_dual: FloatArray) -> FloatArray:
        """EUR per MWh of flexibility per slot of the horizon, from the balance rows' duals
        (EUR per kW of extra prosumption in a slot; HiGHS's sign convention for a minimum)."""
        price = np.zeros(len(self.volume_kw))
        price[self.requested] = self.sign * balance_dual * 1000 / self.slot_hours
        return price

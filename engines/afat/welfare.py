"""Who gains what from a flexibility activation (seed Annex 7.1 outputs, as changes against
the baseline).

The aggregator sells the flexibility at the buyer's price and pays each prosumer, per kWh it
moves away from its baseline in a requested slot, the internal price of that slot (the
portfolio's marginal value of flexibility: the dual price of the coupling, the buyer's price
when the requested volume does not bind, less when it does). Prosumers keep paying their
own energy at the energy price. So:

    users' welfare_i  = payment_i - extra energy bill_i - extra discomfort and wear_i
    aggregator profit = revenue - sum of payments
    social welfare    = users' welfare + aggregator profit
                      = revenue - extra energy cost - extra discomfort and wear
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.afat.lp import FloatArray, IntArray


@dataclass(frozen=True)
class Accounts:
    revenue_eur: float
    payment_eur: FloatArray  # per user
    energy_change_eur: FloatArray  # per user
    discomfort_change_eur: FloatArray  # per user
    user_welfare_eur: FloatArray
    flexibility_kw: FloatArray  # per slot, portfolio (sign: the request's direction)
    user_flexibility_kwh: FloatArray  # per user, over the requested slots

    @property
    def aggregator_profit_eur(self) -> float:
        return self.revenue_eur - float(self.payment_eur.sum())

    @property
    def social_welfare_eur(self) -> float:
        return float(self.user_welfare_eur.sum()) + self.aggregator_profit_eur


def account(
    *,
    baseline_kw: FloatArray,  # users x slots
    prosumption_kw: FloatArray,
    discomfort_base_eur: FloatArray,  # per user
    discomfort_eur: FloatArray,
    energy_price_eur_per_mwh: FloatArray,
    request_price_eur_per_mwh: FloatArray,
    volume_kw: FloatArray,
    requested: IntArray,
    sign: float,
    flex_price_eur_per_mwh: FloatArray,  # per slot, paid per MWh of flexibility
    slot_hours: float,
) -> Accounts:
    dt = slot_hours
    user_flex = sign * (baseline_kw - prosumption_kw)  # users x slots
    flex = user_flex.sum(axis=0)
    # Revenue only for what the request asks for: a slight overshoot (an iterative method's
    # residual) is not paid, and nothing is paid outside the requested slots.
    delivered = np.clip(flex[requested], 0.0, volume_kw[requested])
    revenue = float(np.sum(request_price_eur_per_mwh[requested] / 1000 * dt * delivered))
    in_request = user_flex[:, requested]
    payment = (in_request * (flex_price_eur_per_mwh[requested] / 1000 * dt)).sum(axis=1)
    energy = ((prosumption_kw - baseline_kw) * (energy_price_eur_per_mwh / 1000 * dt)).sum(axis=1)
    discomfort = discomfort_eur - discomfort_base_eur
    return Accounts(
        revenue_eur=revenue,
        payment_eur=payment,
        energy_change_eur=energy,
        discomfort_change_eur=discomfort,
        user_welfare_eur=payment - energy - discomfort,
        flexibility_kw=flex,
        user_flexibility_kwh=in_request.sum(axis=1) * dt,
    )

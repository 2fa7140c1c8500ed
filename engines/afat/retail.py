"""Retail pricing (HLUC_04_UCS_02): compare FlexContracts by simulating prosumers' response.

Each prosumer moves up to its flexibility factor of each day's consumption within the day to
minimise its bill plus a quadratic discomfort `k/2 * (x_t - y_t)^2` (y: the flexible part of
its historical consumption). That response has a closed form, `x_t = max(0, y_t + (nu -
r_t) / k)` with `nu` set so the day's energy is kept, found by bisection for every prosumer
and day at once. Prosumers respond to the import tariff; exported energy earns the feed-in
price. The retailer buys the portfolio's net prosumption at the wholesale price (plus an
optional convex term). Tariffs recover the wholesale cost of the historical consumption
times (1 + margin), so contracts are compared at the same nominal margin.

Consumption is kept (shifted, not shed), so the prosumers' utility `value * energy` is the
same under every contract and the comparison is driven by bills, discomfort and cost.
"""

from __future__ import annotations

import numpy as np

from engines.afat.lp import FloatArray
from engines.afat.retail_schema import (
    Contract,
    ContractOutcome,
    RetailInput,
    RetailProsumer,
    RetailResult,
)
from engines.base import ProgressFn

_BISECTION_STEPS = 60


def compare_contracts(data: RetailInput, progress: ProgressFn) -> RetailResult:
    progress(0.05, "loading curves")
    try:
        prosumers, source = _portfolio(data)
    except ImportError as exc:  # an optional extra: a value, not a crash to retry
        return RetailResult(
            status="error",
            message=f"simbench profiles need the simbench package "
            f"(pip install 'flexgrid-atp[forecast-data]'): {exc}",
        )
    slots = len(data.wholesale_price_eur_per_mwh)
    per_day = 1440 // data.slot_minutes
    dt = data.slot_minutes / 60
    demand = np.array([p.consumption_kw for p in prosumers], dtype=np.float64)
    production = np.array(
        [p.production_kw if p.production_kw is not None else [0.0] * slots for p in prosumers],
        dtype=np.float64,
    )
    phi = np.array([p.flexibility_factor for p in prosumers])[:, None]
    kappa = np.array([p.discomfort_eur_per_kw2h for p in prosumers])[:, None, None]
    wholesale = np.asarray(data.wholesale_price_eur_per_mwh, dtype=np.float64)
    hist_net = (demand - production).sum(axis=0)
    outcomes: list[ContractOutcome] = []
    for n, contract in enumerate(data.contracts):
        progress(0.1 + 0.85 * n / len(data.contracts), f"simulating {contract.name}")
        tariff = _tariff(contract, data, wholesale, hist_net, per_day, dt)
        flexible = phi * demand
        shifted = _respond(flexible, tariff / 1000, kappa, per_day)
        consumption = (1 - phi) * demand + shifted
        net = consumption - production
        bills = (
            np.maximum(net, 0) * tariff / 1000
            - np.maximum(-net, 0) * data.feed_in_eur_per_mwh / 1000
        )
        bills_eur = float(bills.sum() * dt)
        discomfort = float((kappa.reshape(-1, 1) / 2 * (shifted - flexible) ** 2).sum() * dt)
        cost = _energy_cost(net.sum(axis=0), wholesale, data, dt)
        utility = data.value_of_energy_eur_per_mwh / 1000 * float(consumption.sum()) * dt
        welfare = utility - bills_eur - discomfort
        profit = bills_eur - cost
        outcomes.append(
            ContractOutcome(
                name=contract.name,
                kind=contract.kind,
                energy_cost_eur=cost,
                aggregated_users_welfare_eur=welfare,
                retailer_profit_eur=profit,
                total_prosumption_mwh=float(net.sum()) * dt / 1000,
                total_bills_eur=bills_eur,
                social_welfare_eur=welfare + profit,
                discomfort_eur=discomfort,
                peak_mw=float(net.sum(axis=0).max()) / 1000,
                tariff_eur_per_mwh=[float(v) for v in np.round(tariff, 4)],
            )
        )
    return RetailResult(
        status="optimal",
        source=source,
        prosumers=len(prosumers),
        slots=slots,
        contracts=outcomes,
        best_social_welfare=max(outcomes, key=lambda o: o.social_welfare_eur).name,
        best_retailer_profit=max(outcomes, key=lambda o: o.retailer_profit_eur).name,
    )


def _respond(
    flexible: FloatArray, tariff_eur_per_kwh: FloatArray, kappa: FloatArray, per_day: int
) -> FloatArray:
    """Each prosumer's cost-minimising shift of its flexible consumption within each day."""
    n, slots = flexible.shape
    days = slots // per_day
    y = flexible.reshape(n, days, per_day)
    r = np.broadcast_to(tariff_eur_per_kwh.reshape(1, days, per_day), y.shape)
    target = y.sum(axis=2, keepdims=True)
    # The day's energy is kept between these multipliers (see the module docstring).
    lo = r.min(axis=2, keepdims=True).copy()
    hi = r.max(axis=2, keepdims=True).copy()
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2
        total = np.maximum(0.0, y + (mid - r) / kappa).sum(axis=2, keepdims=True)
        short = total < target
        lo = np.where(short, mid, lo)
        hi = np.where(short, hi, mid)
    x = np.maximum(0.0, y + (hi - r) / kappa)
    # Remove the bisection's last sliver so the day's energy is exactly kept.
    total = x.sum(axis=2, keepdims=True)
    scale = np.divide(target, total, out=np.ones_like(total), where=total > 0)
    return np.asarray(x * scale, dtype=np.float64).reshape(n, slots)


def _energy_cost(net_kw: FloatArray, wholesale: FloatArray, data: RetailInput, dt: float) -> float:
    mw = net_kw / 1000
    quadratic = data.energy_cost_quadratic_eur_per_mw2h / 2 * mw**2
    return float(((wholesale * mw + quadratic) * dt).sum())


def _tariff(
    contract: Contract,
    data: RetailInput,
    wholesale: FloatArray,
    hist_net: FloatArray,
    per_day: int,
    dt: float,
) -> FloatArray:
    markup = 1.0 + data.retailer_margin
    beta = data.energy_cost_quadratic_eur_per_mw2h
    if contract.kind == "rtp":
        # Marginal cost of the historical portfolio in each slot.
        return markup * (wholesale + beta * hist_net / 1000)
    if contract.kind == "fixed":
        band = np.zeros(len(wholesale), dtype=np.int64)
    else:
        hours = (np.arange(len(wholesale)) % per_day) * 24 // per_day
        band = np.isin(hours, contract.peak_hours).astype(np.int64)
    tariff = np.zeros(len(wholesale))
    for b in np.unique(band):
        mask = band == b
        energy = float(hist_net[mask].sum()) * dt / 1000
        if energy > 0:
            average = _energy_cost(hist_net[mask], wholesale[mask], data, dt) / energy
        else:  # a net-exporting band: its plain average price
            average = float(wholesale[mask].mean())
        tariff[mask] = markup * average
    return tariff


def _portfolio(data: RetailInput) -> tuple[list[RetailProsumer], str]:
    if data.simbench is None:
        return data.prosumers, "input curves"
    from engines.afat import profiles

    sb = data.simbench
    pv = profiles.window(profiles.pv_profile(sb.pv_profile), sb.first_day, sb.days) * sb.pv_kwp
    out: list[RetailProsumer] = []
    for i in range(sb.prosumers):
        name = sb.load_profiles[i % len(sb.load_profiles)]
        full = profiles.load_profile(name)
        # SimBench profiles are relative; scale to the annual energy (kWh over 0.25 h slots).
        kw = full * sb.annual_kwh / (float(full.sum()) * 0.25)
        has_pv = sb.pv_every > 0 and i % sb.pv_every == 0
        out.append(
            RetailProsumer(
                id=f"sb-{i}",
                consumption_kw=profiles.window(kw, sb.first_day, sb.days).tolist(),
                production_kw=pv.tolist() if has_pv else None,
                flexibility_factor=sb.flexibility_factor,
                discomfort_eur_per_kw2h=sb.discomfort_eur_per_kw2h,
            )
        )
    names = ", ".join(sb.load_profiles)
    return out, f"simbench 2016 profiles {names} and {sb.pv_profile}, days {sb.first_day}+{sb.days}"

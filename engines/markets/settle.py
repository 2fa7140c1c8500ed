"""Money per party of one period and the day's summary of an architecture.

Amounts are received (negative = paid). Wholesale: every generator at its bus price, the case's own
loads and the distribution area at theirs (the area at the TLMP), the TSO keeps the congestion rent.
Distribution: the FMCT clearing's payments (its pricing rule; the TSO's price segments of the central
model are not a party). The wholesale side sums to zero; the distribution side to minus its budget
balance, which the DSO keeps (or covers).
"""

from __future__ import annotations

from collections import defaultdict

from engines.markets.outcome import ArchitectureResult, PeriodOutcome, imbalance_summary
from engines.markets.sides import DsoOutcome, DsoSide, TsoOutcome, TsoSide

AREA = "distribution-area"


def period_payments(tso: TsoOutcome, dso: DsoOutcome) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    (period,) = tso.result.periods
    for award in period.awards:
        out[award.participant_id] += award.amount_eur
    out[AREA] -= tso.tlmp * dso.import_mw
    out["tso-congestion-rent"] += tso.result.congestion_rent_eur or 0.0
    out["transmission-loads"] -= (tso.result.congestion_rent_eur or 0.0) + sum(out.values())
    for pay in dso.result.payments:
        if pay.participant_id != "tso":
            out[pay.participant_id] += pay.amount_eur
    return dict(out)


def summarise(
    name: str, periods: list[PeriodOutcome], tso: TsoSide, dso: DsoSide, time_s: float
) -> ArchitectureResult:
    del tso, dso  # the sides' state is in the outcomes; kept for a uniform signature
    payments: dict[str, float] = defaultdict(float)
    for p in periods:
        for party, amount in p.payments_eur.items():
            payments[party] += amount
    gen = sum(p.generation_cost_eur for p in periods)
    flex = sum(p.flex_cost_eur for p in periods)
    return ArchitectureResult(
        architecture=name,  # type: ignore[arg-type]
        status="optimal",
        welfare_eur=-(gen + flex),
        generation_cost_eur=gen,
        flex_cost_eur=flex,
        curtailed_res_mwh=sum(p.curtailed_res_mwh for p in periods),
        iterations=sum(max(len(p.trace), 1) for p in periods),
        unconverged_periods=sum(not p.converged for p in periods),
        payments_eur={k: round(v, 6) for k, v in sorted(payments.items())},
        periods=periods,
        time_s=time_s,
        imbalance=imbalance_summary(periods),
    )

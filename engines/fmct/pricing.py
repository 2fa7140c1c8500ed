"""Payment rules (the seed's DNPA): pay-as-bid, nodal (dual) pricing with make-whole uplift, and VCG.

Every rule settles each accepted variable of every period. ``amount_eur`` is what a participant
receives (a buyer's is negative). Nodal: each variable is settled at its bus's price for what it
injects (``price * sign * energy``), so sellers of up-flex are paid the d-LMP and buyers pay it; an
accepted offer whose nodal revenue is below its bid (possible only with non-convex blocks) receives a
make-whole uplift, reported separately. VCG: a participant is paid its bid cost plus the welfare it adds
(objective without it minus objective with it); a buyer pays its value minus the welfare it adds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engines.fmct.market import PeriodFlex
from engines.fmct.schema import ClearingOffer, ClearingRequest, Finding, Payment

TOL_EUR = 1e-6


@dataclass(frozen=True)
class SettledPeriod:
    """One period's accepted volumes (MW / Mvar per variable) and prices per ppc bus row."""

    flex: PeriodFlex
    x_mw: np.ndarray
    dlmp: np.ndarray
    qlmp: np.ndarray
    duration_h: float


@dataclass(frozen=True)
class Settlement:
    payments: list[Payment]
    budget_balance_eur: float
    all_offers_paid_at_least_price: bool
    findings: list[Finding]


_VCG_NOISE_EUR = 1e-5

# (kind, owner index) -> (bid value, nodal amount); bid value is cost for offers, -value for requests
Ledger = dict[tuple[int, int], list[float]]


def _ledger(periods: Sequence[SettledPeriod]) -> Ledger:
    ledger: Ledger = defaultdict(lambda: [0.0, 0.0])
    for sp in periods:
        f = sp.flex.flex
        energy = sp.x_mw * sp.duration_h
        price = np.where(f.is_q, sp.qlmp[f.bus], sp.dlmp[f.bus])
        bid = f.cost * energy
        nodal = price * f.sign * energy
        for k in np.flatnonzero(energy > 1e-9):
            entry = ledger[(int(sp.flex.owner_kind[k]), int(sp.flex.owner[k]))]
            entry[0] += float(bid[k])
            entry[1] += float(nodal[k])
    return ledger


def settle(
    rule: str,
    periods: Sequence[SettledPeriod],
    offers: Sequence[ClearingOffer],
    requests: Sequence[ClearingRequest],
    added_cost: Callable[[int, set[int]], float | None] | None = None,
) -> Settlement:
    """Payments under ``rule``. For VCG, ``added_cost(kind, owners)`` is the objective without the
    participant's orders minus the objective with them, both from the same model (None = infeasible
    without them)."""
    ledger = _ledger(periods)
    findings: list[Finding] = []
    # per order: amount received and uplift
    amount: dict[tuple[int, int], float] = {}
    uplift: dict[tuple[int, int], float] = {}
    for key, (bid, nodal) in ledger.items():
        if rule == "pay_as_bid":
            amount[key] = bid  # a request's bid value is -value: it pays its price
        elif rule == "nodal":
            amount[key] = nodal
            if key[0] == 0 and nodal < bid - TOL_EUR:
                uplift[key] = bid - nodal
        else:
            amount[key] = bid
    participants: dict[tuple[int, str], set[int]] = defaultdict(set)
    for kind, idx in ledger:
        pid = offers[idx].seller_id if kind == 0 else requests[idx].buyer_id
        participants[(kind, pid)].add(idx)
    paid_enough = True
    payments: list[Payment] = []
    for (kind, pid), owners in sorted(participants.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        bid = sum(ledger[(kind, i)][0] for i in owners)
        if rule == "vcg":
            added = added_cost(kind, owners) if added_cost else None
            if added is None or not np.isfinite(added):
                findings.append(
                    Finding(
                        code="vcg_pivotal",
                        severity="warning",
                        element=pid,
                        message="the market is infeasible without this participant: settled at its bid",
                    )
                )
                got = bid
            else:
                # Removing a participant shrinks the feasible set, so `added` < 0 is either the
                # OPF solvers' tolerance (the AC-OPF objective is exact to about 1e-8 of itself)
                # or a clearing that was not optimal; only the latter is worth a finding.
                if -_VCG_NOISE_EUR * (1 + abs(bid)) < added < 0.0:
                    added = 0.0
                # bid + (welfare with - welfare without) = bid + (objective without - objective with)
                got = bid + added
                if added < 0.0:
                    findings.append(
                        Finding(
                            code="vcg_negative_contribution",
                            severity="warning",
                            element=pid,
                            message=f"the clearing improves by {-added:.6g} EUR without this "
                            "participant: its dispatch was not optimal",
                        )
                    )
        else:
            got = sum(amount[(kind, i)] for i in owners)
        up = sum(uplift.get((kind, i), 0.0) for i in owners)
        if kind == 0:
            per_order_ok = rule != "vcg" and all(
                amount[(0, i)] + uplift.get((0, i), 0.0)
                >= ledger[(0, i)][0] - TOL_EUR * (1 + abs(ledger[(0, i)][0]))
                for i in owners
            )
            ok = per_order_ok if rule != "vcg" else got >= bid - 1e-6 * (1 + abs(bid))
            paid_enough = paid_enough and ok
        payments.append(
            Payment(
                participant_id=pid,
                role="seller" if kind == 0 else "buyer",
                amount_eur=got,
                bid_value_eur=bid if kind == 0 else -bid,
                uplift_eur=up,
            )
        )
    received = sum(p.amount_eur + p.uplift_eur for p in payments if p.role == "seller")
    paid = -sum(p.amount_eur for p in payments if p.role == "buyer")
    return Settlement(payments, paid - received, paid_enough, findings)

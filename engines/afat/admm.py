"""Decentralised flexibility aggregation: ADMM for the sharing problem (Boyd et al.,
"Distributed Optimization and Statistical Learning via ADMM", 2011, section 7.3).

Each prosumer keeps its assets and preferences to itself and solves its own small problem:
its cost (energy at the forecast price, discomfort, wear) plus a quadratic pull towards a
per-slot target the aggregator broadcasts. The aggregator sees only the prosumers'
prosumption in the requested slots; it updates the shared signal, whose scaled dual `u` is the
internal price of flexibility (`rho * u`, EUR per kW of prosumption per slot). The iterations
stop when the portfolio's prosumption meets the request's bounds to within the tolerance and
the signal has settled. Residual balancing (section 3.4.1) adapts `rho`.
"""

from __future__ import annotations

import time

import numpy as np

from engines.afat.highs import HighsSession
from engines.afat.lp import FloatArray, Readout, build
from engines.afat.request import RequestTerms
from engines.afat.result import assemble, failed
from engines.afat.schema import AggregationInput, AggregationResult
from engines.base import ProgressFn


class _Agent:
    """One prosumer's side: its own LP (its prosumption in the requested slots as columns)."""

    def __init__(self, data: AggregationInput, index: int, terms: RequestTerms) -> None:
        self.lp = build(
            [data.prosumers[index]],
            data.slots,
            data.slot_hours,
            terms.energy_price_eur_per_mwh,
            terms.requested,
        )
        self.session = HighsSession(self.lp, data.options.time_limit_s)
        self.cols = self.lp.p_cols
        self.x = np.zeros(self.lp.matrix.shape[1])

    def respond(self, target: FloatArray | None) -> bool:
        if target is not None:
            rho = self._rho
            n = len(self.cols)
            self.session.change_cols(
                self.cols, -rho * target, np.full(n, -np.inf), np.full(n, np.inf)
            )
        sol = self.session.solve()
        if sol.status != "optimal":
            return False
        self.x = sol.x
        return True

    def set_rho(self, rho: float) -> None:
        self._rho = rho
        self.session.set_proximal(self.cols, rho)

    @property
    def prosumption_r(self) -> FloatArray:
        return self.x[self.cols]


def aggregate_decentralised(data: AggregationInput, progress: ProgressFn) -> AggregationResult:
    started = time.perf_counter()
    terms = RequestTerms.of(data)
    opts = data.options
    agents = [_Agent(data, i, terms) for i in range(len(data.prosumers))]
    progress(0.02, "prosumers compute their baselines")
    for agent in agents:
        if not agent.respond(None):
            return failed(data, "infeasible", "", "a prosumer's own baseline has no solution")
    base_x = [agent.x.copy() for agent in agents]
    baseline_user = np.vstack([agent.lp.prosumption_kw(agent.x) for agent in agents])
    baseline = baseline_user.sum(axis=0)
    n = len(agents)
    volume = terms.volume_kw[terms.requested]
    lower, upper = terms.p_bounds(baseline, np.zeros(len(volume)), volume)
    cost = terms.p_cost(1.0)  # EUR per kW of aggregate prosumption, requested slots
    rho = opts.admm_rho_eur_per_kw2 or float(np.max(np.abs(cost))) / max(
        float(volume.max()) / n, 1e-3
    )
    rho_range = (rho / 1000, rho * 1000)  # keeps the prosumers' QPs well conditioned
    for agent in agents:
        agent.set_rho(rho)
    x = np.vstack([a.prosumption_r for a in agents])
    x_bar = x.mean(axis=0)
    z_bar = x_bar.copy()
    u = np.zeros_like(x_bar)
    z = x.copy()  # each prosumer's share of the aggregate: x_i - x_bar + z_bar
    iterations = 0
    for iterations in range(1, opts.admm_max_iterations + 1):
        targets = x - x_bar + z_bar - u
        for i, agent in enumerate(agents):
            if not agent.respond(targets[i]):
                return failed(data, "error", "", f"prosumer {data.prosumers[i].id} failed")
        x = np.vstack([a.prosumption_r for a in agents])
        x_bar = x.mean(axis=0)
        z_bar = np.clip(u + x_bar - cost / rho, lower / n, upper / n)
        u = u + x_bar - z_bar
        z_old, z = z, x - x_bar + z_bar
        # Residuals in kW (section 3.3 for the sharing form): the aggregate's distance to the
        # request's bounds, and how far each prosumer's share still moves.
        primal = n * float(np.max(np.abs(x_bar - z_bar)))
        dual = float(np.max(np.abs(z - z_old)))
        if iterations % 10 == 0:
            progress(min(0.95, iterations / opts.admm_max_iterations), f"iteration {iterations}")
        if primal < opts.admm_tolerance_kw and dual < opts.admm_tolerance_kw:
            break
        if iterations % 5 == 0 and (primal > 10 * dual or dual > 10 * primal):
            factor = 2.0 if primal > dual else 0.5
            if not rho_range[0] <= rho * factor <= rho_range[1]:
                continue
            rho *= factor
            u /= factor
            for agent in agents:
                agent.set_rho(rho)
    aggregate = x.sum(axis=0)
    violation = float(np.max(np.maximum(lower - aggregate, 0) + np.maximum(aggregate - upper, 0)))
    return assemble(
        data,
        readout=Readout.stack([Readout.of(a.lp, a.x) for a in agents]),
        baseline_kw=baseline_user,
        discomfort_base_eur=np.concatenate(
            [a.lp.discomfort_eur(x0) for a, x0 in zip(agents, base_x, strict=True)]
        ),
        flex_price_eur_per_mwh=terms.flex_price_from_duals(rho * u),
        offer_steps=[],
        condition="converged" if iterations < opts.admm_max_iterations else "iteration_limit",
        seconds=time.perf_counter() - started,
        method="decentralised",
        iterations=iterations,
        coupling_violation_kw=violation,
    )

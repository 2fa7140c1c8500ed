"""Results of the market architectures (plain Structs: the bench prints them, the gateway will
store them). Welfare = bid value - offer cost over both markets; the scenario's demand is inelastic
and carries no bid value, so welfare is minus the total cost of generation and flexibility. In the
near-real-time market (`reactive-nrt`) generation includes the TSO's balancing energy at its bids'
prices (the generators' step costs; down-regulation saves them) and flexibility the local
re-dispatch, so its welfare also carries the cost of the day's forecast errors."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from gateway.messages.balancing import Activation

Architecture = Literal["reactive", "reactive-nrt", "proactive", "iterative", "central"]


class IterationStep(msgspec.Struct, frozen=True, kw_only=True):
    tlmp_sent_eur_per_mwh: float
    dso_import_mw: float
    tlmp_back_eur_per_mwh: float


class NrtDispatch(msgspec.Struct, frozen=True, kw_only=True):
    """A flexibility offer's near-real-time activation on top of its day-ahead one."""

    offer_id: str
    p_up_mw: float
    p_down_mw: float


class GridCheck(msgspec.Struct, frozen=True, kw_only=True):
    """AC power flow of the realised period (pandapower, as the DSO's forwarding check)."""

    within_limits: bool
    violation: Annotated[str, Meta(description="the worst limit broken, in words; empty if none")]
    max_loading_percent: float
    min_vm_pu: float
    max_vm_pu: float


class ImbalancePeriod(msgspec.Struct, frozen=True, kw_only=True):
    """One period of the near-real-time stage. Exchanges are the area's import at the coupling
    point; an imbalance > 0 means the area is short (it imports more than its day-ahead schedule),
    which is the TSO's up-regulation need."""

    load_error: Annotated[float, Meta(description="relative error of the feeder load")]
    pv_error: Annotated[float, Meta(description="realised - forecast PV, share of capacity")]
    scheduled_mw: Annotated[float, Meta(description="day-ahead exchange (the wholesale schedule)")]
    realised_mw: Annotated[float, Meta(description="exchange with the realised injections")]
    imbalance_mw: Annotated[float, Meta(description="realised - scheduled, before re-dispatch")]
    resolved_locally_mw: Annotated[
        float, Meta(description="|imbalance| - |residual|: what the local re-dispatch removed")
    ]
    residual_mw: Annotated[float, Meta(description="the TSO's need: the area's imbalance left")]
    nrt_flex_cost_eur: float
    nrt_curtailed_res_mwh: float
    dispatch: list[NrtDispatch] = msgspec.field(default_factory=list)
    balancing_energy_mwh: float = 0.0
    balancing_cost_eur: Annotated[
        float, Meta(description="activated bids at their own prices (down: minus the savings)")
    ] = 0.0
    imbalance_price_eur_per_mwh: Annotated[
        float | None, Meta(description="the merit order's marginal price; none: nothing activated")
    ] = None
    area_imbalance_paid_eur: Annotated[
        float, Meta(description="the area's imbalance settlement at that price (< 0: received)")
    ] = 0.0
    activations: list[Activation] = msgspec.field(default_factory=list)
    before: GridCheck
    after: GridCheck


class ImbalanceSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The near-real-time stage over the periods played (energies over hourly periods)."""

    imbalance_mwh: Annotated[float, Meta(description="sum of |imbalance| before re-dispatch")]
    resolved_locally_mwh: float
    tso_balancing_mwh: float
    tso_balancing_cost_eur: float
    area_imbalance_paid_eur: float
    nrt_flex_cost_eur: float
    overloaded_periods_before: Annotated[
        int, Meta(description="periods whose realisation broke a grid limit before re-dispatch")
    ]
    periods_within_limits: int


def imbalance_summary(periods: list[PeriodOutcome]) -> ImbalanceSummary | None:
    """None for the architectures without a near-real-time stage."""
    stages = [p.imbalance for p in periods if p.imbalance is not None]
    if not stages:
        return None
    return ImbalanceSummary(
        imbalance_mwh=sum(abs(s.imbalance_mw) for s in stages),
        resolved_locally_mwh=sum(s.resolved_locally_mw for s in stages),
        tso_balancing_mwh=sum(s.balancing_energy_mwh for s in stages),
        tso_balancing_cost_eur=sum(s.balancing_cost_eur for s in stages),
        area_imbalance_paid_eur=sum(s.area_imbalance_paid_eur for s in stages),
        nrt_flex_cost_eur=sum(s.nrt_flex_cost_eur for s in stages),
        overloaded_periods_before=sum(not s.before.within_limits for s in stages),
        periods_within_limits=sum(s.after.within_limits for s in stages),
    )


class PeriodOutcome(msgspec.Struct, frozen=True, kw_only=True):
    period_index: int
    coupling_mw: float
    tlmp_eur_per_mwh: float
    generation_cost_eur: float
    flex_cost_eur: float
    curtailed_res_mwh: float
    converged: bool = True
    recovered: bool = False
    payments_eur: dict[str, float] = msgspec.field(default_factory=dict)
    trace: list[IterationStep] = msgspec.field(default_factory=list)
    imbalance: ImbalancePeriod | None = None


class ArchitectureResult(msgspec.Struct, frozen=True, kw_only=True):
    architecture: Architecture
    status: Literal["optimal", "infeasible", "error"]
    message: str = ""
    welfare_eur: float = 0.0
    generation_cost_eur: float = 0.0
    flex_cost_eur: float = 0.0
    curtailed_res_mwh: float = 0.0
    iterations: int = 0
    unconverged_periods: int = 0
    payments_eur: dict[str, float] = msgspec.field(default_factory=dict)
    periods: list[PeriodOutcome] = msgspec.field(default_factory=list)
    time_s: float = 0.0
    imbalance: ImbalanceSummary | None = None

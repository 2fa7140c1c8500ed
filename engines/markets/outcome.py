"""Results of the market architectures (plain Structs: the bench prints them, the gateway will
store them). Welfare = bid value - offer cost over both markets; the scenario's demand is inelastic
and carries no bid value, so welfare is minus the total cost of generation and flexibility."""

from __future__ import annotations

from typing import Literal

import msgspec

Architecture = Literal["reactive", "proactive", "iterative", "central"]


class IterationStep(msgspec.Struct, frozen=True, kw_only=True):
    tlmp_sent_eur_per_mwh: float
    dso_import_mw: float
    tlmp_back_eur_per_mwh: float


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

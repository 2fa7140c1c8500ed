"""The `fmct-needs` engine: needs identification (`engines.fmct.needs`) as a job.

Input: a zone's network (an internal `GridModel`, or the name of a network bundled with
pandapower) and its schedules per period. Output: `NeedsResult` (congested lines and
transformers with their loading, voltage deviations per node, per period).
"""

from __future__ import annotations

import copy
import functools
import warnings
from typing import Any, Literal

import msgspec

from cim.model import GridModel
from cim.to_pandapower import to_pandapower
from engines.base import ProgressFn
from engines.fmct.needs import identify_needs
from engines.fmct.schema import ClearingOptions, NeedsResult, PeriodSchedule

BundledNetwork = Literal["cigre_mv", "cigre_mv_no_der", "case33bw"]


class NeedsInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    network: GridModel | BundledNetwork
    schedules: list[PeriodSchedule] = msgspec.field(default_factory=list)
    options: ClearingOptions = msgspec.field(default_factory=ClearingOptions)


def bundled_network(name: BundledNetwork) -> Any:
    """A fresh pandapower net (they are mutable and collect results), copied from one built
    once per worker process: building case33bw from pandapower's JSON costs about 0.4 s."""
    return copy.deepcopy(_built(name))


@functools.cache
def _built(name: BundledNetwork) -> Any:
    with warnings.catch_warnings():
        # pandapower's network builders warn about optional extras (geo data, numba).
        warnings.simplefilter("ignore")
        import pandapower.networks as pn

        match name:
            case "cigre_mv":
                return pn.create_cigre_network_mv(with_der="pv_wind")
            case "cigre_mv_no_der":
                return pn.create_cigre_network_mv(with_der=False)
            case "case33bw":
                return pn.case33bw()


class NeedsEngine:
    kind = "fmct-needs"
    input_type = NeedsInput
    output_type = NeedsResult

    def run(self, data: NeedsInput, progress: ProgressFn) -> NeedsResult:
        if isinstance(data.network, GridModel):
            net = to_pandapower(data.network)
            return with_mrids(self._identify(net, data, progress), net)
        return self._identify(bundled_network(data.network), data, progress)

    def _identify(self, net: Any, data: NeedsInput, progress: ProgressFn) -> NeedsResult:
        if not data.schedules:
            return identify_needs(net, [], data.options)
        # Period by period (each on its own copy of the net, as identify_needs does) so the
        # caller sees progress on a long day.
        parts: list[NeedsResult] = []
        total = len(data.schedules)
        for done, schedule in enumerate(data.schedules):
            progress(done / total, f"period {schedule.period_index}")
            parts.append(identify_needs(net, [schedule], data.options))
        periods = [p for part in parts for p in part.periods]
        failed = [p.period_index for p in periods if not p.converged]
        return NeedsResult(
            status="error" if failed else "optimal",
            message=f"power flow did not converge in periods {failed}" if failed else "",
            periods=periods,
            findings=[f for part in parts for f in part.findings],
        )


def with_mrids(result: NeedsResult, net: Any) -> NeedsResult:
    """pandapower indices -> the model's mRIDs (`to_pandapower` names every element by its
    mRID): a DSO acts on its own identifiers, not on a converter's row numbers."""

    def name(table: str, idx: str) -> str:
        try:
            value = net[table].name.at[int(idx)]
        except (KeyError, ValueError):
            return idx
        return str(value) if isinstance(value, str) and value else idx

    return msgspec.structs.replace(
        result,
        periods=[
            msgspec.structs.replace(
                period,
                congested=[
                    msgspec.structs.replace(c, id=name(c.element, c.id))
                    if c.element in ("line", "trafo")
                    else c
                    for c in period.congested
                ],
                voltage_deviations=[
                    msgspec.structs.replace(d, bus=name("bus", d.bus))
                    for d in period.voltage_deviations
                ],
            )
            for period in result.periods
        ],
    )

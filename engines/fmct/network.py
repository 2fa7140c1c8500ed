"""pandapower net -> per-unit arrays for the optimisation models (the only place reading pandapower's ppc).

A fresh deep copy of the caller's net is made for every period: pandapower writes results into the net.
The branch model (pi model, taps, phase shifts, magnetising admittance) is pandapower's own
``branch_vectors``, so the models see exactly the admittances pandapower's power flow uses.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandapower as pp
from numpy.typing import NDArray
from pandapower.pypower.idx_brch import BR_R, BR_STATUS, BR_X, F_BUS, RATE_A, T_BUS
from pandapower.pypower.idx_bus import BS, BUS_TYPE, GS, PD, QD, VA, VM
from pandapower.pypower.idx_gen import GEN_BUS, PG, QMAX, QMIN, VG
from pandapower.pypower.makeYbus import branch_vectors

from engines.fmct.schema import Finding, PeriodSchedule

FloatArray = NDArray[np.float64]
ComplexArray = NDArray[np.complex128]
IntArray = NDArray[np.int64]

IMPEDANCE_FLOOR_PU = 1e-4
# pandapower's converters write 99999 (kA for lines, MVA for transformers) for "no rating" (a
# MATPOWER rateA of 0); at 0.4 kV that placeholder would read as a real 69,000 MVA limit
NO_RATING = 99999.0
_ISOLATED = 4


@dataclass(frozen=True)
class Grid:
    """One period's network and base operating point, in per unit on ``base_mva``."""

    base_mva: float
    bus_ids: list[str]
    active: NDArray[np.bool_]
    vmin: FloatArray
    vmax: FloatArray
    gs: FloatArray
    bs: FloatArray
    pd: FloatArray
    qd: FloatArray
    f: IntArray
    t: IntArray
    yff: ComplexArray
    yft: ComplexArray
    ytf: ComplexArray
    ytt: ComplexArray
    rating: FloatArray
    branch_ids: list[str]
    ref_bus: int
    gen_bus: IntArray
    gen_pg: FloatArray
    gen_qmin: FloatArray
    gen_qmax: FloatArray
    gen_vg: FloatArray
    gen_is_ref: NDArray[np.bool_]
    gen_ids: list[str]
    vm: FloatArray
    va: FloatArray
    converged: bool
    findings: list[Finding] = field(default_factory=list)

    @property
    def n_bus(self) -> int:
        return len(self.bus_ids)

    @property
    def n_branch(self) -> int:
        return len(self.branch_ids)


def element_keys(df: Any) -> dict[str, int]:
    """Key -> element index: unique names and every index as a string."""
    keys = {str(i): int(i) for i in df.index}
    names = Counter(n for n in df.get("name", []) if isinstance(n, str) and n)
    for idx, name in zip(df.index, df.get("name", [None] * len(df)), strict=True):
        if isinstance(name, str) and name and names[name] == 1:
            keys.setdefault(name, int(idx))
    return keys


def bus_keys(net: Any) -> dict[str, int]:
    return element_keys(net.bus)


def apply_schedule(net: Any, schedule: PeriodSchedule) -> list[str]:
    """Write a period's schedule into ``net`` (a copy). Returns unknown element keys."""
    unknown: list[str] = []
    net.load["p_mw"] = net.load["p_mw"] * schedule.load_scaling
    net.load["q_mvar"] = net.load["q_mvar"] * schedule.load_scaling
    net.sgen["p_mw"] = net.sgen["p_mw"] * schedule.sgen_scaling
    for table, column, values in (
        ("load", "p_mw", schedule.load_p_mw),
        ("load", "q_mvar", schedule.load_q_mvar),
        ("sgen", "p_mw", schedule.sgen_p_mw),
        ("gen", "p_mw", schedule.gen_p_mw),
    ):
        keys = element_keys(net[table])
        for key, value in values.items():
            if key in keys:
                net[table].at[keys[key], column] = value
            else:
                unknown.append(f"{table}:{key}")
    return unknown


def unknown_elements(net: Any, schedule: PeriodSchedule) -> list[Finding]:
    """The error findings ``period_grid`` would report for ``schedule``, without a power flow."""
    out: list[Finding] = []
    for table, values in (
        ("load", schedule.load_p_mw.keys() | schedule.load_q_mvar.keys()),
        ("sgen", schedule.sgen_p_mw.keys()),
        ("gen", schedule.gen_p_mw.keys()),
    ):
        keys = element_keys(net[table]) if values else {}
        out += [
            Finding(
                code="unknown_element",
                severity="error",
                element=f"{table}:{key}",
                message="schedule names an element that is not in the network",
            )
            for key in sorted(values)
            if key not in keys
        ]
    return out


def run_pf(net: Any) -> bool:
    """AC power flow in place; False when it does not converge."""
    try:
        with warnings.catch_warnings():
            # pandapower warns about FutureWarnings of pandas inside its result writers.
            warnings.simplefilter("ignore", FutureWarning)
            # Bundled MATPOWER cases lack pandapower 3's tap table; the fallback is the intended model.
            warnings.filterwarnings("ignore", "tap_dependency_table is missing", DeprecationWarning)
            pp.runpp(net, numba=False, init="dc" if len(net.bus) > 200 else "auto")
    except pp.LoadflowNotConverged:
        return False
    return bool(net.converged)


def _branch_labels(net: Any, n_branch: int) -> list[str]:
    labels = [f"other:{i}" for i in range(n_branch)]
    for element, (start, stop) in net._pd2ppc_lookups["branch"].items():
        table = net[element]
        for pos, idx in enumerate(table.index[: stop - start]):
            labels[start + pos] = f"{element}:{idx}"
    return labels


def _ratings_mva(net: Any, labels: list[str], rate_a: FloatArray, use_rate_a: bool) -> FloatArray:
    """100 % thermal rating per branch in MVA at nominal voltage (inf = none)."""
    out = np.full(len(labels), np.inf)
    for i, label in enumerate(labels):
        element, _, idx_s = label.partition(":")
        if use_rate_a:
            out[i] = rate_a[i] if rate_a[i] > 0 else np.inf
        elif element == "line":
            row = net.line.loc[int(idx_s)]
            vn = float(net.bus.at[int(row.from_bus), "vn_kv"])
            if float(row.max_i_ka) < NO_RATING:
                out[i] = float(row.max_i_ka * row.df * row.parallel) * vn * math.sqrt(3.0)
        elif element == "trafo":
            row = net.trafo.loc[int(idx_s)]
            if float(row.sn_mva) < NO_RATING:
                out[i] = float(row.sn_mva * row.df * row.parallel)
    out[out > 1e6] = np.inf  # other placeholder ratings mean "no limit" too
    return out


def _gen_labels(net: Any, n_gen: int) -> list[str]:
    labels = [f"gen_row:{i}" for i in range(n_gen)]
    for element in ("ext_grid", "gen"):
        lookup = net._pd2ppc_lookups.get(element)
        if lookup is None:
            continue
        for idx in net[element].index[net[element].in_service.values.astype(bool)]:
            if idx < len(lookup) and lookup[idx] >= 0:
                labels[int(lookup[idx])] = f"{element}:{idx}"
    return labels


def build_grid(
    net: Any,
    *,
    v_min_pu: float | None,
    v_max_pu: float | None,
    use_rate_a: bool = False,
) -> Grid:
    """Per-unit arrays from a net on which ``run_pf`` has just run (converged or not)."""
    ppc = net._ppc
    base = float(ppc["baseMVA"])
    bus = np.real(ppc["bus"]).astype(float)
    branch_all = ppc["branch"].copy()
    findings: list[Finding] = []
    labels_all = _branch_labels(net, branch_all.shape[0])
    in_service = np.real(branch_all[:, BR_STATUS]) > 0
    z = np.abs(branch_all[:, BR_R] + 1j * branch_all[:, BR_X])
    for i in np.flatnonzero(in_service & (z < IMPEDANCE_FLOOR_PU)):
        findings.append(
            Finding(
                code="impedance_floored",
                severity="warning",
                element=labels_all[i],
                message=f"|z| = {z[i]:.2e} pu below {IMPEDANCE_FLOOR_PU:g} pu: x raised to the floor",
            )
        )
        branch_all[i, BR_X] = IMPEDANCE_FLOOR_PU
    ytt, yff, yft, ytf = branch_vectors(branch_all, branch_all.shape[0])
    keep = np.flatnonzero(in_service)
    rate = _ratings_mva(net, labels_all, np.real(branch_all[:, RATE_A]), use_rate_a)
    bus_lookup = net._pd2ppc_lookups["bus"]
    ids = [""] * bus.shape[0]
    vmin = np.full(bus.shape[0], 0.9 if v_min_pu is None else v_min_pu)
    vmax = np.full(bus.shape[0], 1.1 if v_max_pu is None else v_max_pu)
    for idx in reversed(list(net.bus.index)):  # first net bus wins for merged buses
        row = int(bus_lookup[idx])
        ids[row] = str(idx)
        if (
            v_min_pu is None
            and "min_vm_pu" in net.bus
            and not np.isnan(net.bus.at[idx, "min_vm_pu"])
        ):
            vmin[row] = float(net.bus.at[idx, "min_vm_pu"])
        if (
            v_max_pu is None
            and "max_vm_pu" in net.bus
            and not np.isnan(net.bus.at[idx, "max_vm_pu"])
        ):
            vmax[row] = float(net.bus.at[idx, "max_vm_pu"])
    gen = np.real(ppc["gen"]).astype(float)
    gen_labels = _gen_labels(net, gen.shape[0])
    is_ref = np.array([lab.startswith("ext_grid") for lab in gen_labels], dtype=bool)
    ref_rows = np.flatnonzero(is_ref)
    ref_bus = int(gen[ref_rows[0], GEN_BUS]) if len(ref_rows) else 0
    if len(ref_rows) > 1:
        findings.append(
            Finding(
                code="several_ext_grids",
                severity="warning",
                element="ext_grid",
                message="only the first external grid is the angle reference; others are fixed-voltage sources",
            )
        )
    return Grid(
        base_mva=base,
        bus_ids=ids,
        active=bus[:, BUS_TYPE] != _ISOLATED,
        vmin=vmin,
        vmax=vmax,
        gs=bus[:, GS] / base,
        bs=bus[:, BS] / base,
        pd=bus[:, PD] / base,
        qd=bus[:, QD] / base,
        f=np.real(branch_all[keep, F_BUS]).astype(np.int64),
        t=np.real(branch_all[keep, T_BUS]).astype(np.int64),
        yff=np.asarray(yff[keep], dtype=np.complex128),
        yft=np.asarray(yft[keep], dtype=np.complex128),
        ytf=np.asarray(ytf[keep], dtype=np.complex128),
        ytt=np.asarray(ytt[keep], dtype=np.complex128),
        rating=rate[keep] / base,
        branch_ids=[labels_all[i] for i in keep],
        ref_bus=ref_bus,
        gen_bus=gen[:, GEN_BUS].astype(np.int64),
        gen_pg=gen[:, PG] / base,
        gen_qmin=gen[:, QMIN] / base,
        gen_qmax=gen[:, QMAX] / base,
        gen_vg=gen[:, VG],
        gen_is_ref=is_ref,
        gen_ids=gen_labels,
        # a diverged power flow leaves voltages that are no start at all (e.g. 0.01 to 169 pu on
        # MATPOWER case141): the models then start flat
        vm=np.where(np.isnan(bus[:, VM]), 1.0, bus[:, VM]) if net.converged else np.ones(len(bus)),
        va=np.deg2rad(np.where(np.isnan(bus[:, VA]), 0.0, bus[:, VA]))
        if net.converged
        else np.zeros(len(bus)),
        converged=bool(net.converged),
        findings=findings,
    )


def period_grid(
    net: Any,
    schedule: PeriodSchedule | None,
    *,
    v_min_pu: float | None,
    v_max_pu: float | None,
    use_rate_a: bool = False,
    copy_net: bool = True,
) -> tuple[Grid, Any]:
    """Copy ``net`` (unless the caller hands over a private copy), apply ``schedule``, run the base
    power flow, return (grid, solved copy)."""
    work = copy.deepcopy(net) if copy_net else net
    unknown = apply_schedule(work, schedule) if schedule is not None else []
    run_pf(work)
    grid = build_grid(work, v_min_pu=v_min_pu, v_max_pu=v_max_pu, use_rate_a=use_rate_a)
    for key in unknown:
        grid.findings.append(
            Finding(
                code="unknown_element",
                severity="error",
                element=key,
                message="schedule names an element that is not in the network",
            )
        )
    return grid, work


_SCHEDULED = (("load", "p_mw"), ("load", "q_mvar"), ("sgen", "p_mw"), ("gen", "p_mw"))
_RECYCLE = {"bus_pq": True, "gen": True, "trafo": False}


class GridSeries:
    """Grids of many periods of one net, cheaper than ``period_grid`` per period.

    One private copy of the net is kept; each period restores the scheduled columns to their base
    values, applies its schedule and runs pandapower's recycled power flow (its time-series mode:
    the admittance matrices are reused and the previous period's voltages start Newton's method).
    Only the bus loads, generator set-points and the voltages change between periods; everything
    else of the first period's Grid is shared.
    """

    def __init__(
        self, net: Any, *, v_min_pu: float | None, v_max_pu: float | None, copy_net: bool = True
    ) -> None:
        self._net = copy.deepcopy(net) if copy_net else net
        self._base = {(t, c): self._net[t][c].to_numpy(copy=True) for t, c in _SCHEDULED}
        self._limits = (v_min_pu, v_max_pu)
        self._first: Grid | None = None

    @property
    def bus_index(self) -> dict[str, int]:
        """Bus key (name or index) -> row of the grids' bus arrays; after the first ``grid``."""
        lookup = self._net._pd2ppc_lookups["bus"]
        return {k: int(lookup[i]) for k, i in bus_keys(self._net).items()}

    def grid(self, schedule: PeriodSchedule | None) -> Grid:
        net = self._net
        for (table, column), values in self._base.items():
            net[table][column] = values.copy()
        unknown = apply_schedule(net, schedule) if schedule is not None else []
        if self._first is None:
            run_pf(net)
            self._first = build_grid(net, v_min_pu=self._limits[0], v_max_pu=self._limits[1])
            grid = replace(self._first, findings=list(self._first.findings))
        else:
            ok = _run_recycled_pf(net)
            ppc = net._ppc
            bus = np.real(ppc["bus"]).astype(float)
            gen = np.real(ppc["gen"]).astype(float)
            base = self._first.base_mva
            grid = replace(
                self._first,
                pd=bus[:, PD] / base,
                qd=bus[:, QD] / base,
                gen_pg=gen[:, PG] / base,
                vm=np.where(np.isnan(bus[:, VM]), 1.0, bus[:, VM]),
                va=np.deg2rad(np.where(np.isnan(bus[:, VA]), 0.0, bus[:, VA])),
                converged=ok,
                findings=list(self._first.findings),
            )
        grid.findings.extend(
            Finding(
                code="unknown_element",
                severity="error",
                element=key,
                message="schedule names an element that is not in the network",
            )
            for key in unknown
        )
        return grid


def _run_recycled_pf(net: Any) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.filterwarnings("ignore", "tap_dependency_table is missing", DeprecationWarning)
            pp.runpp(net, numba=False, recycle=_RECYCLE)
    except pp.LoadflowNotConverged:
        return False
    return bool(net.converged)

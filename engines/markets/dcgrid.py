"""A transmission case as DC network data (the only module here reading pandapower's ppc).

The susceptance matrices are pandapower's own ``makeBdc`` (taps and phase shifters included), so the
market sees exactly the DC model of pandapower's ``rundcpp``/``rundcopp``. Branch limits are MATPOWER's
``rateA`` (MVA; 0 means unlimited), bus keys are the pandapower bus index as a string.
"""

from __future__ import annotations

import copy
import functools
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandapower as pp
from numpy.typing import NDArray
from pandapower.pypower.idx_brch import BR_STATUS, RATE_A
from pandapower.pypower.idx_bus import BUS_TYPE, PD
from pandapower.pypower.makeBdc import makeBdc
from scipy import sparse

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
TransmissionCase = Literal["case30", "case39", "case118"]
_REF = 3


@dataclass(frozen=True)
class GenUnit:
    """A generator of the case with its MATPOWER polynomial cost (EUR/h = c2 p^2 + c1 p + c0)."""

    label: str
    bus: str
    p_min_mw: float
    p_max_mw: float
    c2: float
    c1: float
    c0: float


@dataclass(frozen=True)
class DcGrid:
    base_mva: float
    bus_ids: list[str]
    row_of: dict[str, int]
    ref: int
    bbus: sparse.csr_matrix
    bf: sparse.csr_matrix
    pbusinj_mw: FloatArray
    pfinj_mw: FloatArray
    rate_mw: FloatArray
    branch_ids: list[str]
    load_mw: FloatArray
    units: tuple[GenUnit, ...]

    @property
    def n_bus(self) -> int:
        return len(self.bus_ids)


def load_case(name: TransmissionCase) -> Any:
    """A fresh pandapower net of a bundled MATPOWER case (nets are mutable: never share one)."""
    return copy.deepcopy(_built(name))


@functools.cache
def _built(name: TransmissionCase) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandapower warns about optional extras (numba, geo)
        import pandapower.networks as pn

        return getattr(pn, name)()


@functools.cache
def case_grid(name: TransmissionCase) -> DcGrid:
    """The DC data of a bundled case, built once per process (it is immutable)."""
    return dc_grid(load_case(name))


def _branch_labels(net: Any, n: int) -> list[str]:
    labels = [f"line:{i}" for i in net.line.index] + [f"trafo:{i}" for i in net.trafo.index]
    return labels + [f"branch:{i}" for i in range(len(labels), n)]


def _units(net: Any) -> tuple[GenUnit, ...]:
    costs = {(c.et, int(c.element)): c for c in net.poly_cost.itertuples()}
    out = []
    for element in ("ext_grid", "gen"):
        table = net[element]
        for idx in table.index:
            if not bool(table.at[idx, "in_service"]):
                continue
            cost = costs.get((element, int(idx)))
            out.append(
                GenUnit(
                    label=f"{element}:{idx}",
                    bus=str(int(table.at[idx, "bus"])),
                    p_min_mw=float(table.at[idx, "min_p_mw"]),
                    p_max_mw=float(table.at[idx, "max_p_mw"]),
                    c2=float(cost.cp2_eur_per_mw2) if cost is not None else 0.0,
                    c1=float(cost.cp1_eur_per_mw) if cost is not None else 0.0,
                    c0=float(cost.cp0_eur) if cost is not None else 0.0,
                )
            )
    return tuple(out)


def dc_grid(net: Any) -> DcGrid:
    """DC data of ``net`` (not modified). Loads are the net's own (its ``load`` table, MW)."""
    work = copy.deepcopy(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.rundcpp(work)
    ppc = work._ppc
    lookup = work._pd2ppc_lookups["bus"]
    bus_ids = [str(int(b)) for b in work.bus.index]
    row_of = {b: int(lookup[int(b)]) for b in bus_ids}
    if len(set(row_of.values())) != len(row_of) or len(row_of) != ppc["bus"].shape[0]:
        raise ValueError("the case has merged buses (closed bus-bus switches): not supported")
    bus_ids = sorted(bus_ids, key=row_of.__getitem__)
    base = float(ppc["baseMVA"])
    branch = ppc["branch"]
    in_service = branch[:, BR_STATUS].real > 0
    bbus, bf, pbusinj, pfinj, _ = makeBdc(ppc["bus"], branch)
    rate = branch[:, RATE_A].real.astype(float)
    rate = np.where((rate > 0) & in_service, rate, np.inf)
    refs = np.flatnonzero(ppc["bus"][:, BUS_TYPE].real == _REF)
    return DcGrid(
        base_mva=base,
        bus_ids=bus_ids,
        row_of={b: i for i, b in enumerate(bus_ids)},
        ref=int(refs[0]),
        bbus=sparse.csr_matrix(bbus.real),
        bf=sparse.csr_matrix(bf.real),
        pbusinj_mw=np.asarray(pbusinj, dtype=float).real * base,
        pfinj_mw=np.asarray(pfinj, dtype=float).real * base,
        rate_mw=rate,
        branch_ids=_branch_labels(work, branch.shape[0]),
        load_mw=ppc["bus"][:, PD].real.astype(float),
        units=_units(work),
    )

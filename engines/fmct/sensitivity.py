"""Linearised AC power flow around an operating point (sparse), and a Newton power flow on the same arrays.

The linear model keeps the voltage state: ``J d = delta injection`` with ``J`` the power-flow Jacobian
(angles at non-reference buses, magnitudes at buses without a held voltage) and ``d`` the state change;
voltage magnitudes, branch flows (both ends) and the reference-bus injection are then sparse linear
functions of ``d``. This is the loss-sensitivity model (the inverse of ``J`` applied to the injections)
without forming that inverse: on a radial feeder every voltage depends on every injection, so the
inverse is dense (3 million coefficients at 1,200 buses) while ``J`` has about five entries per row.
It holds on meshed networks, includes losses, and re-linearising at each AC check makes it exact at
the current point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from engines.fmct.network import ComplexArray, FloatArray, Grid, IntArray

Sparse = Any  # scipy.sparse matrices are untyped


@dataclass(frozen=True)
class Linearisation:
    v: ComplexArray  # complex bus voltages of the operating point
    p_cols: IntArray  # buses whose P injection moves the state (active, not the reference): angles
    q_cols: IntArray  # buses whose Q injection moves the state (no held voltage): magnitudes
    jac: Sparse  # (np+nq, np+nq) real: d[P_p_cols, Q_q_cols] / d[angles, magnitudes]
    dsf: Sparse  # (nl, np+nq) complex: d S_from / d state
    dst: Sparse  # (nl, np+nq) complex: d S_to / d state
    dpref: FloatArray  # (np+nq,): d P injection at the reference bus / d state
    sf: ComplexArray
    st: ComplexArray
    p_ref: float  # P injection at the reference bus at the operating point (pu)

    @property
    def n_state(self) -> int:
        return len(self.p_cols) + len(self.q_cols)


@dataclass(frozen=True)
class _Matrices:
    ybus: Sparse
    yf: Sparse
    yt: Sparse
    cf: Sparse
    ct: Sparse


def _matrices(grid: Grid) -> _Matrices:
    nb, nl = grid.n_bus, grid.n_branch
    rows = np.arange(nl)
    ones = np.ones(nl)
    cf = sp.csr_matrix((ones, (rows, grid.f)), shape=(nl, nb))
    ct = sp.csr_matrix((ones, (rows, grid.t)), shape=(nl, nb))
    yf = sp.diags(grid.yff) @ cf + sp.diags(grid.yft) @ ct
    yt = sp.diags(grid.ytf) @ cf + sp.diags(grid.ytt) @ ct
    ybus = cf.T @ yf + ct.T @ yt + sp.diags(grid.gs + 1j * grid.bs)
    return _Matrices(sp.csr_matrix(ybus), sp.csr_matrix(yf), sp.csr_matrix(yt), cf, ct)


def fixed_v_buses(grid: Grid) -> IntArray:
    return np.unique(grid.gen_bus)


def _dsbus(ybus: Sparse, v: ComplexArray) -> tuple[Sparse, Sparse]:
    """dS/dVa and dS/dVm of S = V conj(Ybus V) (MATPOWER dSbus_dV, sparse)."""
    i = ybus @ v
    dv, di, dvn = sp.diags(v), sp.diags(i), sp.diags(v / np.abs(v))
    ds_dvm = dv @ (ybus @ dvn).conj() + di.conj() @ dvn
    ds_dva = 1j * dv @ (di - ybus @ dv).conj()
    return sp.csr_matrix(ds_dva), sp.csr_matrix(ds_dvm)


def _dsbr(y: Sparse, c: Sparse, v: ComplexArray) -> tuple[Sparse, Sparse]:
    """dS/dVa and dS/dVm of S = (C V) conj(Y V) at one end of each branch (MATPOWER dSbr_dV)."""
    i = y @ v
    dv, dvn = sp.diags(v), sp.diags(v / np.abs(v))
    di, dvb = sp.diags(i), sp.diags(c @ v)
    ds_dva = 1j * (di.conj() @ c @ dv - dvb @ (y @ dv).conj())
    ds_dvm = dvb @ (y @ dvn).conj() + di.conj() @ c @ dvn
    return sp.csr_matrix(ds_dva), sp.csr_matrix(ds_dvm)


def _index(grid: Grid) -> tuple[IntArray, IntArray]:
    active = grid.active.copy()
    pvar = np.flatnonzero(active & (np.arange(grid.n_bus) != grid.ref_bus))
    fixed = np.zeros(grid.n_bus, bool)
    fixed[fixed_v_buses(grid)] = True
    qvar = np.flatnonzero(active & ~fixed)
    return pvar, qvar


def _jacobian(ds_dva: Sparse, ds_dvm: Sparse, pvar: IntArray, qvar: IntArray) -> Sparse:
    return sp.vstack(
        [
            sp.hstack([ds_dva[pvar][:, pvar].real, ds_dvm[pvar][:, qvar].real]),
            sp.hstack([ds_dva[qvar][:, pvar].imag, ds_dvm[qvar][:, qvar].imag]),
        ],
        format="csc",
    )


def power_flow(
    grid: Grid, p_inj: FloatArray, q_inj: FloatArray, v0: ComplexArray | None = None
) -> tuple[ComplexArray, bool]:
    """Newton power flow; ``p_inj``/``q_inj`` are specified injections at non-reference/PQ buses (pu)."""
    ybus = _matrices(grid).ybus
    pvar, qvar = _index(grid)
    v = (grid.vm * np.exp(1j * grid.va)).astype(complex) if v0 is None else v0.copy()
    for _ in range(30):
        s = v * np.conj(ybus @ v)
        mis = np.r_[s.real[pvar] - p_inj[pvar], s.imag[qvar] - q_inj[qvar]]
        if np.max(np.abs(mis), initial=0.0) < 1e-10:
            return v, True
        jac = _jacobian(*_dsbus(ybus, v), pvar, qvar)
        dx = spla.spsolve(jac, -mis)
        if not np.all(np.isfinite(dx)):
            return v, False  # a singular Jacobian
        va, vm = np.angle(v), np.abs(v)
        va[pvar] += dx[: len(pvar)]
        vm[qvar] += dx[len(pvar) :]
        v = vm * np.exp(1j * va)
    return v, False


def branch_flows(grid: Grid, v: ComplexArray) -> tuple[ComplexArray, ComplexArray]:
    """Complex power into each branch at its from and to ends (pu)."""
    vf, vt = v[grid.f], v[grid.t]
    sf = vf * np.conj(grid.yff * vf + grid.yft * vt)
    st = vt * np.conj(grid.ytf * vf + grid.ytt * vt)
    return np.asarray(sf, dtype=complex), np.asarray(st, dtype=complex)


def linearise(grid: Grid, v: ComplexArray) -> Linearisation:
    mats = _matrices(grid)
    pvar, qvar = _index(grid)
    ds_dva, ds_dvm = _dsbus(mats.ybus, v)
    fa, fm = _dsbr(mats.yf, mats.cf, v)
    ta, tm = _dsbr(mats.yt, mats.ct, v)
    ref = grid.ref_bus
    dpref = np.r_[ds_dva[ref].toarray()[0, pvar].real, ds_dvm[ref].toarray()[0, qvar].real]
    s = v * np.conj(mats.ybus @ v)
    sf, st = branch_flows(grid, v)
    return Linearisation(
        v=v,
        p_cols=pvar,
        q_cols=qvar,
        jac=_jacobian(ds_dva, ds_dvm, pvar, qvar),
        dsf=sp.hstack([fa[:, pvar], fm[:, qvar]], format="csr"),
        dst=sp.hstack([ta[:, pvar], tm[:, qvar]], format="csr"),
        dpref=np.asarray(dpref, dtype=float),
        sf=sf,
        st=st,
        p_ref=float(s.real[ref]),
    )

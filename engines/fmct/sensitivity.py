"""Loss-sensitivity linearisation of the AC power flow, and a Newton power flow on the same arrays.

Around an AC operating point the Jacobian gives first-order sensitivities of voltage magnitudes, branch
flows (both ends) and the external-grid injection to nodal P and Q injections. Unlike LinDistFlow this
holds on meshed networks and includes losses (the external grid's sensitivity is the loss factor), and
re-linearising at each AC check makes the linear model exact at the current point.
Dense algebra: distribution zones here have at most a few hundred buses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.fmct.network import ComplexArray, FloatArray, Grid, IntArray


@dataclass(frozen=True)
class Linearisation:
    v: ComplexArray  # complex bus voltages of the operating point
    p_cols: IntArray  # buses whose P injection moves the state (non-reference, active)
    q_cols: IntArray  # buses whose Q injection moves the state (no fixed voltage)
    dvm: FloatArray  # (nb, np+nq): d|V| / d[P_cols, Q_cols]
    dsf: ComplexArray  # (nl, np+nq): d S_from
    dst: ComplexArray  # (nl, np+nq): d S_to
    dpref: FloatArray  # (np+nq,): d P_ref-bus-injection (excluding flex at the reference bus)
    sf: ComplexArray
    st: ComplexArray
    p_ref: float  # external-grid P at the operating point (pu)


def _matrices(grid: Grid) -> tuple[ComplexArray, ComplexArray, ComplexArray]:
    nb, nl = grid.n_bus, grid.n_branch
    rows = np.arange(nl)
    yf = np.zeros((nl, nb), complex)
    yt = np.zeros((nl, nb), complex)
    np.add.at(yf, (rows, grid.f), grid.yff)
    np.add.at(yf, (rows, grid.t), grid.yft)
    np.add.at(yt, (rows, grid.f), grid.ytf)
    np.add.at(yt, (rows, grid.t), grid.ytt)
    cf = np.zeros((nl, nb))
    ct = np.zeros((nl, nb))
    cf[rows, grid.f] = 1.0
    ct[rows, grid.t] = 1.0
    ybus = cf.T @ yf + ct.T @ yt + np.diag(grid.gs + 1j * grid.bs)
    return ybus, yf, yt


def fixed_v_buses(grid: Grid) -> IntArray:
    return np.unique(grid.gen_bus)


def _derivs(
    y: ComplexArray, v: ComplexArray, c: FloatArray | None = None
) -> tuple[ComplexArray, ComplexArray]:
    """dS/dVa and dS/dVm of S = (C v) * conj(Y v) (MATPOWER dSbus_dV / dSbr_dV, dense)."""
    i = y @ v
    vn = v / np.abs(v)
    if c is None:
        ds_dvm = np.diag(v) @ np.conj(y * vn[None, :]) + np.diag(np.conj(i)) * vn[None, :]
        ds_dva = 1j * np.diag(v) @ np.conj(np.diag(i) - y * v[None, :])
        return ds_dva, ds_dvm
    vb = c @ v
    ds_dva = 1j * (np.conj(i)[:, None] * c * v[None, :] - vb[:, None] * np.conj(y * v[None, :]))
    ds_dvm = vb[:, None] * np.conj(y * vn[None, :]) + np.conj(i)[:, None] * c * vn[None, :]
    return ds_dva, ds_dvm


def _index(grid: Grid) -> tuple[IntArray, IntArray]:
    active = grid.active.copy()
    pvar = np.flatnonzero(active & (np.arange(grid.n_bus) != grid.ref_bus))
    fixed = np.zeros(grid.n_bus, bool)
    fixed[fixed_v_buses(grid)] = True
    qvar = np.flatnonzero(active & ~fixed)
    return pvar, qvar


def power_flow(
    grid: Grid, p_inj: FloatArray, q_inj: FloatArray, v0: ComplexArray | None = None
) -> tuple[ComplexArray, bool]:
    """Newton power flow; ``p_inj``/``q_inj`` are specified injections at non-reference/PQ buses (pu)."""
    ybus, _, _ = _matrices(grid)
    pvar, qvar = _index(grid)
    v = (grid.vm * np.exp(1j * grid.va)).astype(complex) if v0 is None else v0.copy()
    for _ in range(30):
        s = v * np.conj(ybus @ v)
        mis = np.r_[s.real[pvar] - p_inj[pvar], s.imag[qvar] - q_inj[qvar]]
        if np.max(np.abs(mis), initial=0.0) < 1e-10:
            return v, True
        dva, dvm = _derivs(ybus, v)
        jac = np.block(
            [
                [dva.real[np.ix_(pvar, pvar)], dvm.real[np.ix_(pvar, qvar)]],
                [dva.imag[np.ix_(qvar, pvar)], dvm.imag[np.ix_(qvar, qvar)]],
            ]
        )
        try:
            dx = np.linalg.solve(jac, -mis)
        except np.linalg.LinAlgError:
            return v, False
        va, vm = np.angle(v), np.abs(v)
        va[pvar] += dx[: len(pvar)]
        vm[qvar] += dx[len(pvar) :]
        v = vm * np.exp(1j * va)
    return v, False


def linearise(grid: Grid, v: ComplexArray) -> Linearisation:
    ybus, yf, yt = _matrices(grid)
    pvar, qvar = _index(grid)
    nl, nb = grid.n_branch, grid.n_bus
    cf = np.zeros((nl, nb))
    ct = np.zeros((nl, nb))
    cf[np.arange(nl), grid.f] = 1.0
    ct[np.arange(nl), grid.t] = 1.0
    dva, dvm = _derivs(ybus, v)
    jac = np.block(
        [
            [dva.real[np.ix_(pvar, pvar)], dvm.real[np.ix_(pvar, qvar)]],
            [dva.imag[np.ix_(qvar, pvar)], dvm.imag[np.ix_(qvar, qvar)]],
        ]
    )
    jinv = np.linalg.inv(jac)  # columns: d state / d [P_pvar, Q_qvar]
    dth, dv = jinv[: len(pvar)], jinv[len(pvar) :]
    dvm_full = np.zeros((nb, jinv.shape[1]))
    dvm_full[qvar] = dv

    def through(d_va: ComplexArray, d_vm: ComplexArray) -> ComplexArray:
        return np.asarray(d_va[:, pvar] @ dth + d_vm[:, qvar] @ dv, dtype=complex)

    fa, fm = _derivs(yf, v, cf)
    ta, tm = _derivs(yt, v, ct)
    s = v * np.conj(ybus @ v)
    sens_ref = through(dva[[grid.ref_bus]], dvm[[grid.ref_bus]])[0].real
    sf = (cf @ v) * np.conj(yf @ v)
    st = (ct @ v) * np.conj(yt @ v)
    return Linearisation(
        v=v,
        p_cols=pvar,
        q_cols=qvar,
        dvm=dvm_full,
        dsf=through(fa, fm),
        dst=through(ta, tm),
        dpref=sens_ref,
        sf=sf,
        st=st,
        p_ref=float(s.real[grid.ref_bus]),
    )

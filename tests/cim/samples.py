"""Paths to cimpy's bundled CGMES samples."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.find_spec("cimpy")
assert _spec is not None
assert _spec.origin is not None
SAMPLES = Path(_spec.origin).parent / "examples" / "sampledata"
CIGRE_MV = SAMPLES / "CIGRE_MV"
NODE_BREAKER = SAMPLES / "Sample_Grid_Switches" / "Node-Breaker"
BUS_BRANCH = SAMPLES / "Sample_Grid_Switches" / "Bus-Branch"
ALL = (CIGRE_MV, NODE_BREAKER, BUS_BRANCH)


def xml_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.xml"))

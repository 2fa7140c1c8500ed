"""cimpy's bundled CGMES sample files, found without importing cimpy (for demos and benches)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def sample_dir() -> Path:
    spec = importlib.util.find_spec("cimpy")
    if spec is None or spec.origin is None:
        raise RuntimeError("cimpy is not installed; its sample files come with it")
    return Path(spec.origin).parent / "examples" / "sampledata"


def cigre_mv_cgmes_files() -> list[Path]:
    """The CIGRE MV benchmark as CGMES (EQ, TP, SV and DL profiles)."""
    return sorted((sample_dir() / "CIGRE_MV").glob("*.xml"))

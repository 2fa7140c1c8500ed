from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def test_model_and_report_import_nothing_heavy() -> None:
    code = (
        "import sys, cim.model, cim.report; "
        "print(sorted(m for m in ('cimpy', 'pandapower', 'lxml', 'numpy', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

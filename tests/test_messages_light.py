"""The shared message module stays light: engines and adapters import it without the web stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = (
    "litestar",
    "sqlalchemy",
    "sqlmodel",
    "pandapower",
    "pyomo",
    "cimpy",
    "nats",
    "gateway.core",
)


@pytest.mark.unit
def test_messages_import_nothing_heavy() -> None:
    code = (
        "import sys, gateway.messages.orders, gateway.messages.sessions, "
        "gateway.messages.participants, gateway.messages.jobs, gateway.messages.problems;"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

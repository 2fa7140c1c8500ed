"""ASGI entry point for uvicorn workers: settings come from the environment here, once."""

from __future__ import annotations

from gateway.core import create_app
from gateway.settings import Settings

app = create_app(Settings.from_env())

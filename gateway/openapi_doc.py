"""The committed OpenAPI document is rendered from the app by this one function."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.core import create_app
from gateway.settings import Settings


def render_openapi() -> str:
    # No database is touched: building the app and its schema needs no connection.
    app = create_app(Settings(database_url="sqlite+aiosqlite://", data_dir=Path(".")))
    schema = app.openapi_schema.to_schema()
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"

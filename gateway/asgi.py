"""ASGI entry point for uvicorn workers: settings come from the environment here, once."""

from __future__ import annotations

import gc

from gateway.core import create_app
from gateway.settings import Settings

app = create_app(Settings.from_env())

# A gateway process lives long and allocates many short-lived objects per request: move what
# start-up built (modules, the app, schemas) out of the collector's way and collect the young
# generation less often, so full collections do not stall the event loop under order load
# (they showed as the p99 tail of bench/intake.py).
gc.collect()
gc.freeze()
gc.set_threshold(20_000, 50, 100)

"""Real gateway processes for crash tests: started with uvicorn, killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats

from gateway.cli.bootstrap import bootstrap_fmo
from gateway.messages import subjects
from gateway.messaging.embedded import free_port
from gateway.settings import Settings


@dataclass
class GatewayProcess:
    database_url: str
    nats_url: str
    data_dir: Path
    replicas: int = 1
    failpoint: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout_s: float = 30.0, *, wait_healthy: bool = True) -> None:
        """Start and wait until healthy; with `wait_healthy=False` an exit (a failpoint that
        fired during start-up) ends the wait without an error."""
        env = {
            **os.environ,
            "FLEXGRID_DATABASE_URL": self.database_url,
            "FLEXGRID_NATS_URL": self.nats_url,
            "FLEXGRID_DATA_DIR": str(self.data_dir),
            "FLEXGRID_RATE_LIMIT_PER_S": "0",
            "FLEXGRID_NATS_STREAM_REPLICAS": str(self.replicas),
            "FLEXGRID_FAILPOINT": self.failpoint or "",
            # Orders only: no engine imports in the way of a quick restart.
            "FLEXGRID_ENGINES": "external",
        }
        self.process = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once
            [sys.executable, "-m", "uvicorn", "gateway.asgi:app", "--port", str(self.port),
             "--log-level", "warning"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = asyncio.get_running_loop().time() + timeout_s
        async with httpx.AsyncClient() as client:
            while asyncio.get_running_loop().time() < deadline:
                if self.process.poll() is not None:
                    if not wait_healthy:
                        return
                    raise RuntimeError(f"gateway exited with {self.process.returncode}")
                try:
                    if (await client.get(f"{self.base}/v1/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError("gateway did not become healthy")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


@dataclass
class Book:
    """One FMO, a DSO zone, an aggregator and an open session, made over REST."""

    agg_key: str
    session_id: str
    zone_id: str
    window: dict[str, Any]

    def offer(self, index: int) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "node_mrid": "n1",
            "p_up_mw": round(0.1 + (index % 50) / 100, 3),
            "price_p_up_eur_per_mwh": 50.0 + index % 40,
            "delivery_windows": [self.window],
            "valid_until": self.window["end"],
        }


async def make_book(settings: Settings, base: str) -> Book:
    _, fmo = await bootstrap_fmo(settings, f"FMO {uuid.uuid4().hex[:6]}")
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": fmo.key}) as api:

        async def participant(role: str) -> str:
            made = await api.post(
                "/v1/participants", json={"name": f"{role}-{uuid.uuid4().hex[:6]}", "role": role}
            )
            key = await api.post("/v1/api-keys", json={"participant_id": made.json()["id"]})
            return str(key.json()["key"])

        dso, agg = await participant("dso"), await participant("aggregator")
        zone = await api.post(
            "/v1/grid-zones",
            json={"name": f"z-{uuid.uuid4().hex[:6]}", "nodes": [{"mrid": "n1", "vn_kv": 20.0}]},
            headers={"X-API-Key": dso},
        )
        start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        window = {"start": start.isoformat(), "end": (start + timedelta(hours=4)).isoformat(),
                  "resolution_minutes": 60}  # fmt: skip
        session = await api.post(
            "/v1/market-sessions",
            json={"zone_id": zone.json()["id"], "name": "crash", "delivery": window,
                  "gate_closure_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
        )  # fmt: skip
        return Book(agg, session.json()["id"], zone.json()["id"], window)


async def submit(base: str, book: Book, index: int, client: httpx.AsyncClient) -> str | None:
    """One offer with its own idempotency key; the stored id, or None if no answer came."""
    try:
        response = await client.post(
            f"{base}/v1/flex-offers",
            json=book.offer(index),
            headers={"X-API-Key": book.agg_key, "Idempotency-Key": f"order-{index}"},
            timeout=10,
        )
    except httpx.HTTPError:
        return None
    if response.status_code != 201:
        return None
    return str(response.json()["id"])


async def stream_ids(nats_url: str, zone_id: str) -> list[str]:
    """Every Nats-Msg-Id stored for the zone's order events, in stream order."""
    nc = await nats.connect(nats_url.split(","))
    try:
        js = nc.jetstream(timeout=10)
        info = await js.stream_info(
            subjects.ORDERS_STREAM, subjects_filter=subjects.order_events(zone_id)
        )
        expected = sum((info.state.subjects or {}).values())
        ids: list[str] = []
        if expected == 0:
            return ids
        sub = await js.subscribe(subjects.order_events(zone_id), ordered_consumer=True)
        # Read exactly what the stream holds: no trailing timeout to notice the end.
        while len(ids) < expected:
            msg = await sub.next_msg(timeout=10.0)
            ids.append((msg.headers or {}).get("Nats-Msg-Id", ""))
        await sub.unsubscribe()
        return ids
    finally:
        await nc.close()


def order_id(stored_event_id: str) -> str:
    return stored_event_id.removeprefix("order.").removesuffix(".stored")

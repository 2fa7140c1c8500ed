"""A small driver for tests: participants with keys, a zone, a session, orders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from gateway.cli.bootstrap import bootstrap_fmo
from gateway.settings import Settings


class MutableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


NODES = [{"mrid": f"node-{i}", "name": f"Bus {i}", "vn_kv": 20.0} for i in range(1, 6)]


@dataclass
class Market:
    client: AsyncTestClient
    clock: MutableClock
    fmo_key: str
    keys: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def start(
        cls, client: AsyncTestClient, settings: Settings, clock: MutableClock
    ) -> Market:
        _, issued = await bootstrap_fmo(settings, f"FMO {uuid.uuid4().hex[:8]}")
        return cls(client=client, clock=clock, fmo_key=issued.key)

    async def call(
        self, method: str, path: str, key: str | None, body: Any = None, **headers: str
    ) -> Any:
        if key is not None:
            headers = {"X-API-Key": key, **headers}
        return await self.client.request(method, path, json=body, headers=headers)

    async def participant(self, alias: str, role: str) -> str:
        response = await self.call(
            "POST",
            "/v1/participants",
            self.fmo_key,
            {"name": f"{alias}-{uuid.uuid4().hex[:8]}", "role": role},
        )
        assert response.status_code == 201, response.text
        pid = response.json()["id"]
        issued = await self.call("POST", "/v1/api-keys", self.fmo_key, {"participant_id": pid})
        assert issued.status_code == 201, issued.text
        self.keys[alias] = issued.json()["key"]
        self.ids[alias] = pid
        return pid

    async def zone(self, alias: str, dso_alias: str) -> str:
        response = await self.call(
            "POST",
            "/v1/grid-zones",
            self.keys[dso_alias],
            {"name": f"{alias}-{uuid.uuid4().hex[:8]}", "nodes": NODES},
        )
        assert response.status_code == 201, response.text
        self.ids[alias] = response.json()["id"]
        return self.ids[alias]

    def window(self, hours: int = 24, offset_h: int = 24) -> dict[str, Any]:
        start = (self.clock() + timedelta(hours=offset_h)).replace(minute=0, second=0)
        return {
            "start": start.isoformat(),
            "end": (start + timedelta(hours=hours)).isoformat(),
            "resolution_minutes": 60,
        }

    async def session(self, alias: str, zone_alias: str, gate_in_s: float = 3600) -> str:
        response = await self.call(
            "POST",
            "/v1/market-sessions",
            self.fmo_key,
            {
                "zone_id": self.ids[zone_alias],
                "name": alias,
                "delivery": self.window(),
                "gate_closure_at": (self.clock() + timedelta(seconds=gate_in_s)).isoformat(),
            },
        )
        assert response.status_code == 201, response.text
        self.ids[alias] = response.json()["id"]
        return self.ids[alias]

    def request_body(self, session_alias: str, **over: Any) -> dict[str, Any]:
        window = self.window(hours=4, offset_h=24 + 0)
        return {
            "session_id": self.ids[session_alias],
            "node_mrid": "node-2",
            "direction": "up",
            "p_mw": 1.5,
            "q_mvar": 0.2,
            "price_p_eur_per_mwh": 120.0,
            "price_q_eur_per_mvarh": 10.0,
            "delivery": window,
            **over,
        }

    def offer_body(self, session_alias: str, **over: Any) -> dict[str, Any]:
        return {
            "session_id": self.ids[session_alias],
            "node_mrid": "node-3",
            "p_up_mw": 0.8,
            "price_p_up_eur_per_mwh": 90.0,
            "delivery_windows": [self.window(hours=2, offset_h=24)],
            "valid_until": (self.clock() + timedelta(hours=2)).isoformat(),
            **over,
        }

    async def standard(self) -> None:
        """Two DSOs with a zone each, two aggregators, an ESP, a TSO, a retailer, sessions."""
        for alias, role in (
            ("dso", "dso"),
            ("dso2", "dso"),
            ("agg", "aggregator"),
            ("agg2", "aggregator"),
            ("esp", "esp"),
            ("tso", "tso"),
            ("retailer", "retailer"),
        ):
            await self.participant(alias, role)
        await self.zone("zone", "dso")
        await self.zone("zone2", "dso2")
        await self.session("session", "zone")
        await self.session("session2", "zone2")

    # --- added for tests/gateway: objects owned by a given participant --------------------

    async def key_for(self, alias: str) -> tuple[str, str]:
        """Issue one more key for `alias` (by the FMO); returns (key id, key)."""
        issued = await self.call(
            "POST", "/v1/api-keys", self.fmo_key, {"participant_id": self.ids[alias]}
        )
        assert issued.status_code == 201, issued.text
        return issued.json()["api_key"]["id"], issued.json()["key"]

    async def asset(
        self, owner_alias: str, zone_alias: str, *, decide_by: str | None = None
    ) -> str:
        """Register an asset of `owner_alias` at node-1; `decide_by` confirms it at once."""
        response = await self.call(
            "POST",
            "/v1/flex-assets",
            self.keys[owner_alias],
            {
                "name": f"asset-{uuid.uuid4().hex[:8]}",
                "zone_id": self.ids[zone_alias],
                "node_mrid": "node-1",
                "kind": "battery",
                "p_max_mw": 2.0,
                "q_max_mvar": 1.0,
            },
        )
        assert response.status_code == 201, response.text
        asset_id = str(response.json()["id"])
        if decide_by is not None:
            key = self.fmo_key if decide_by == "fmo" else self.keys[decide_by]
            decided = await self.call(
                "POST",
                f"/v1/flex-assets/{asset_id}/prequalification",
                key,
                {"decision": "confirmed"},
            )
            assert decided.status_code == 200, decided.text
        return asset_id

    async def flex_offer(self, submitter_alias: str, session_alias: str, **over: Any) -> str:
        response = await self.call(
            "POST",
            "/v1/flex-offers",
            self.keys[submitter_alias],
            self.offer_body(session_alias, **over),
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def flex_request(self, submitter_alias: str, session_alias: str, **over: Any) -> str:
        response = await self.call(
            "POST",
            "/v1/flex-requests",
            self.keys[submitter_alias],
            self.request_body(session_alias, **over),
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

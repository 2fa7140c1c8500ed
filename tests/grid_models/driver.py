"""Test driver for grid models: a DSO with a zone, uploads as multipart or zip, and reads of
the database that show whether anything was stored."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from httpx import Response
from sqlalchemy import func, select

from gateway.db.database import Database
from gateway.db.tables import grid_model, grid_model_upload, grid_node, job
from tests.cim.samples import CIGRE_MV, xml_files
from tests.market import Market


def cigre_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in xml_files(CIGRE_MV)}


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def rdf_ids(data: bytes, cim_class: str) -> set[str]:
    """mRIDs of one class counted straight from the XML text (independent of our importer)."""
    pattern = rb"<cim:" + cim_class.encode() + rb'\s+rdf:ID="_?([^"]+)"'
    return {m.decode() for m in re.findall(pattern, data)}


@dataclass
class Models:
    market: Market
    zone_id: str

    @classmethod
    async def start(cls, market: Market) -> Models:
        await market.participant("dso", "dso")
        zone_id = await market.zone("zone", "dso")
        return cls(market=market, zone_id=zone_id)

    @property
    def base(self) -> str:
        return f"/v1/grid-zones/{self.zone_id}/models"

    async def upload(
        self,
        files: dict[str, bytes] | None = None,
        key: str | None = None,
        zone_id: str | None = None,
        name: str | None = None,
    ) -> Response:
        files = cigre_files() if files is None else files
        zone = zone_id or self.zone_id
        response: Response = await self.market.client.post(
            f"/v1/grid-zones/{zone}/models",
            files=[("files", (n, d, "application/xml")) for n, d in files.items()],
            data={"name": name} if name is not None else None,
            headers={"X-API-Key": key or self.market.keys["dso"]},
        )
        return response

    async def upload_zip(self, body: bytes, key: str | None = None) -> Response:
        response: Response = await self.market.client.post(
            f"{self.base}?name=zipped",
            content=body,
            headers={
                "X-API-Key": key or self.market.keys["dso"],
                "Content-Type": "application/zip",
                "Content-Disposition": 'attachment; filename="model.zip"',
            },
        )
        return response

    async def get(self, path: str, key: str | None = None, **params: Any) -> Response:
        response: Response = await self.market.client.get(
            f"{self.base}{path}",
            params=params,
            headers={"X-API-Key": key or self.market.keys["dso"]},
        )
        return response

    async def all_pages(self, path: str, limit: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            page = await self.get(path, **params)
            assert page.status_code == 200, page.text
            body = page.json()
            assert len(body["items"]) <= limit
            items += body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return items


async def stored_state(url: str, zone_id: str) -> dict[str, Any]:
    """Everything an upload may write, read straight from the database."""
    db = Database(url)
    try:
        async with db.connect() as conn:
            models = (
                await conn.execute(
                    select(func.count())
                    .select_from(grid_model)
                    .where(grid_model.c.zone_id == zone_id)
                )
            ).scalar_one()
            nodes = sorted(
                r[0]
                for r in await conn.execute(
                    select(grid_node.c.mrid).where(grid_node.c.zone_id == zone_id)
                )
            )
            pending = (
                await conn.execute(select(func.count()).select_from(grid_model_upload))
            ).scalar_one()
            jobs = (await conn.execute(select(func.count()).select_from(job))).scalar_one()
    finally:
        await db.dispose()
    return {"models": models, "nodes": nodes, "pending": pending, "jobs": jobs}

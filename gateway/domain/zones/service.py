"""Grid zones, each owned by one DSO, with the network nodes orders may name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from gateway.auth.caller import Caller
from gateway.auth.scopes import ZONES_READ, ZONES_WRITE
from gateway.db.database import Database
from gateway.db.tables import grid_node, grid_zone, participant
from gateway.domain.clock import Clock, new_id
from gateway.domain.paging import decode_cursor, encode_cursor
from gateway.errors import Conflict, Forbidden, NotFound, Unprocessable
from gateway.messages.common import Role
from gateway.messages.participants import GridNode, GridZone, GridZoneCreate
from gateway.messages.problems import FieldError


def _zone(row: Sequence[Any]) -> GridZone:
    return GridZone(
        id=row[0],
        name=row[1],
        dso_id=row[2],
        created_at=row[3],
        node_count=row[4],
        bundled_network=row[5],
    )


class ZoneService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def _query(self) -> Any:
        counts = (
            select(grid_node.c.zone_id, func.count().label("n"))
            .group_by(grid_node.c.zone_id)
            .subquery()
        )
        return (
            select(
                grid_zone.c.id,
                grid_zone.c.name,
                grid_zone.c.dso_id,
                grid_zone.c.created_at,
                func.coalesce(counts.c.n, 0),
                grid_zone.c.bundled_network,
            )
            .outerjoin(counts, counts.c.zone_id == grid_zone.c.id)
            .order_by(grid_zone.c.created_at, grid_zone.c.id)
        )

    async def create(self, caller: Caller, data: GridZoneCreate) -> GridZone:
        caller.require(ZONES_WRITE)
        dso_id = await self._owner_for(caller, data.dso_id)
        seen: set[str] = set()
        for index, node in enumerate(data.nodes):
            if node.mrid in seen:
                raise Unprocessable(
                    f"node mRID {node.mrid!r} appears twice",
                    errors=[FieldError(location=f"$.nodes[{index}].mrid", message="duplicate")],
                )
            seen.add(node.mrid)
        zone = GridZone(
            id=new_id(),
            name=data.name,
            dso_id=dso_id,
            created_at=self._clock(),
            node_count=len(data.nodes),
            bundled_network=data.bundled_network,
        )
        try:
            async with self._db.begin() as conn:
                await conn.execute(
                    insert(grid_zone).values(
                        id=zone.id,
                        name=zone.name,
                        dso_id=zone.dso_id,
                        created_at=zone.created_at,
                        bundled_network=zone.bundled_network,
                    )
                )
                if data.nodes:
                    await conn.execute(
                        insert(grid_node),
                        [
                            {"zone_id": zone.id, "mrid": n.mrid, "name": n.name, "vn_kv": n.vn_kv}
                            for n in data.nodes
                        ],
                    )
        except IntegrityError as exc:
            raise Conflict(f"a grid zone named {data.name!r} exists already") from exc
        return zone

    async def _owner_for(self, caller: Caller, dso_id: str | None) -> str:
        if caller.role is Role.DSO:
            if dso_id not in (None, caller.participant_id):
                raise Forbidden("a DSO creates zones for itself only")
            return caller.participant_id
        if dso_id is None:
            raise Unprocessable(
                "name the DSO that owns the zone",
                errors=[
                    FieldError(location="$.dso_id", message="required for the market operator")
                ],
            )
        async with self._db.connect() as conn:
            role = (
                await conn.execute(select(participant.c.role).where(participant.c.id == dso_id))
            ).scalar_one_or_none()
        if role != Role.DSO.value:
            raise Unprocessable(
                f"participant {dso_id} is not a DSO",
                errors=[FieldError(location="$.dso_id", message="not a DSO participant")],
            )
        return dso_id

    async def list_visible(self, caller: Caller) -> list[GridZone]:
        caller.require(ZONES_READ)
        query = self._query()
        if caller.role is Role.DSO:
            query = query.where(grid_zone.c.dso_id == caller.participant_id)
        async with self._db.connect() as conn:
            return [_zone(row) for row in await conn.execute(query)]

    async def get(self, caller: Caller, zone_id: str) -> GridZone:
        caller.require(ZONES_READ)
        async with self._db.connect() as conn:
            row = (await conn.execute(self._query().where(grid_zone.c.id == zone_id))).first()
        if row is None or (caller.role is Role.DSO and row[2] != caller.participant_id):
            raise NotFound(f"grid zone {zone_id} not found")
        return _zone(row)

    async def nodes(
        self, caller: Caller, zone_id: str, cursor: str | None, limit: int
    ) -> tuple[list[GridNode], str | None]:
        await self.get(caller, zone_id)
        after = decode_cursor(cursor)
        query = (
            select(grid_node.c.mrid, grid_node.c.name, grid_node.c.vn_kv)
            .where(grid_node.c.zone_id == zone_id)
            .order_by(grid_node.c.mrid)
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(grid_node.c.mrid > after)
        async with self._db.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [GridNode(mrid=r[0], name=r[1], vn_kv=r[2]) for r in rows[:limit]]
        next_cursor = encode_cursor(items[-1].mrid) if len(rows) > limit else None
        return items, next_cursor

"""Flexibility assets: registered by their owner at a node, prequalified by the zone's DSO."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.auth.caller import Caller
from gateway.auth.scopes import ASSETS_DECIDE, ASSETS_READ, ASSETS_WRITE
from gateway.db.database import Database
from gateway.db.tables import flex_asset, grid_node, grid_zone
from gateway.domain.clock import Clock, new_id
from gateway.errors import Conflict, NotFound, Unprocessable
from gateway.messages.common import Role
from gateway.messages.participants import (
    AssetKind,
    FlexAsset,
    FlexAssetCreate,
    Prequalification,
    PrequalificationDecision,
)
from gateway.messages.problems import FieldError

_COLS = (
    flex_asset.c.id,
    flex_asset.c.owner_id,
    flex_asset.c.name,
    flex_asset.c.zone_id,
    flex_asset.c.node_mrid,
    flex_asset.c.kind,
    flex_asset.c.p_max_mw,
    flex_asset.c.q_max_mvar,
    flex_asset.c.prequalification,
    flex_asset.c.decision_reason,
    flex_asset.c.created_at,
    flex_asset.c.decided_at,
)


def _asset(row: Sequence[Any]) -> FlexAsset:
    return FlexAsset(
        id=row[0],
        owner_id=row[1],
        name=row[2],
        zone_id=row[3],
        node_mrid=row[4],
        kind=AssetKind(row[5]),
        p_max_mw=row[6],
        q_max_mvar=row[7],
        prequalification=Prequalification(row[8]),
        decision_reason=row[9],
        created_at=row[10],
        decided_at=row[11],
    )


class AssetService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def register(self, caller: Caller, data: FlexAssetCreate) -> FlexAsset:
        caller.require(ASSETS_WRITE)
        async with self._db.connect() as conn:
            zone = (
                await conn.execute(select(grid_zone.c.id).where(grid_zone.c.id == data.zone_id))
            ).first()
            node = (
                await conn.execute(
                    select(grid_node.c.mrid).where(
                        grid_node.c.zone_id == data.zone_id, grid_node.c.mrid == data.node_mrid
                    )
                )
            ).first()
        if zone is None:
            raise Unprocessable(
                f"grid zone {data.zone_id} does not exist",
                errors=[FieldError(location="$.zone_id", message="unknown zone")],
            )
        if node is None:
            raise Unprocessable(
                f"node {data.node_mrid} is not in zone {data.zone_id}",
                errors=[FieldError(location="$.node_mrid", message="unknown node in this zone")],
            )
        asset = FlexAsset(
            id=new_id(),
            owner_id=caller.participant_id,
            name=data.name,
            zone_id=data.zone_id,
            node_mrid=data.node_mrid,
            kind=data.kind,
            p_max_mw=data.p_max_mw,
            q_max_mvar=data.q_max_mvar,
            prequalification=Prequalification.PENDING,
            decision_reason=None,
            created_at=self._clock(),
            decided_at=None,
        )
        values = {c.name: getattr(asset, c.name) for c in _COLS}
        values["kind"] = asset.kind.value
        values["prequalification"] = asset.prequalification.value
        try:
            async with self._db.begin() as conn:
                await conn.execute(insert(flex_asset).values(**values))
        except IntegrityError as exc:
            raise Conflict(f"you have an asset named {data.name!r} already") from exc
        return asset

    def _visible(self, caller: Caller) -> Any:
        query = select(*_COLS)
        if caller.role is Role.DSO:
            own_zones = select(grid_zone.c.id).where(grid_zone.c.dso_id == caller.participant_id)
            query = query.where(flex_asset.c.zone_id.in_(own_zones))
        elif not caller.is_fmo:
            query = query.where(flex_asset.c.owner_id == caller.participant_id)
        return query

    async def list_visible(
        self, caller: Caller, zone_id: str | None, prequalification: Prequalification | None
    ) -> list[FlexAsset]:
        caller.require(ASSETS_READ)
        query = self._visible(caller).order_by(flex_asset.c.created_at, flex_asset.c.id)
        if zone_id is not None:
            query = query.where(flex_asset.c.zone_id == zone_id)
        if prequalification is not None:
            query = query.where(flex_asset.c.prequalification == prequalification.value)
        async with self._db.connect() as conn:
            return [_asset(row) for row in await conn.execute(query)]

    async def get(self, caller: Caller, asset_id: str) -> FlexAsset:
        caller.require(ASSETS_READ)
        async with self._db.connect() as conn:
            row = (
                await conn.execute(self._visible(caller).where(flex_asset.c.id == asset_id))
            ).first()
        if row is None:
            raise NotFound(f"flex asset {asset_id} not found")
        return _asset(row)

    async def decide(
        self, caller: Caller, asset_id: str, data: PrequalificationDecision
    ) -> FlexAsset:
        """The zone's DSO (or the market operator) confirms or rejects an asset, once."""
        caller.require(ASSETS_DECIDE)
        if data.decision is Prequalification.PENDING:
            raise Unprocessable(
                "a decision is confirmed or rejected",
                errors=[FieldError(location="$.decision", message="must not be pending")],
            )
        await self.get(caller, asset_id)
        async with self._db.begin() as conn:
            changed = await conn.execute(
                update(flex_asset)
                .where(
                    flex_asset.c.id == asset_id,
                    flex_asset.c.prequalification == Prequalification.PENDING.value,
                )
                .values(
                    prequalification=data.decision.value,
                    decision_reason=data.reason,
                    decided_at=self._clock(),
                    decided_by=caller.participant_id,
                )
            )
        if changed.rowcount == 0:
            raise Conflict(f"flex asset {asset_id} has been decided already")
        return await self.get(caller, asset_id)

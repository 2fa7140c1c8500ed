"""The zone's node list follows its latest model, without breaking what names the old nodes.

After an upload the zone's nodes (`grid_node`, the mRIDs orders and assets name) are the
model's buses: new buses are added, known ones get the model's name and voltage. A node the new
model no longer has is deleted unless an order or a flex asset names it: those are kept as they
are (listed in the upload's answer as `kept_referenced`), so stored orders keep pointing at a
node that exists and the DSO sees which references outlived the grid they were made for.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select, union, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db.tables import flex_asset, flex_order, grid_node
from gateway.domain.grid_models.work import BusRow
from gateway.messages.grid_models import NodeChanges

_CHUNK = 500  # keeps IN lists and parameter counts far below every backend's limit


async def replace_zone_nodes(
    conn: AsyncConnection, zone_id: str, buses: Sequence[BusRow]
) -> NodeChanges:
    current = {
        row[0]: (row[1], row[2])
        for row in await conn.execute(
            select(grid_node.c.mrid, grid_node.c.name, grid_node.c.vn_kv).where(
                grid_node.c.zone_id == zone_id
            )
        )
    }
    wanted = {b.mrid: b for b in buses}
    added = [b for mrid, b in wanted.items() if mrid not in current]
    changed = [
        b
        for mrid, b in wanted.items()
        if mrid in current and current[mrid] != (b.name[:200], b.vn_kv)
    ]
    gone = sorted(set(current) - set(wanted))
    referenced = await _referenced(conn, zone_id, gone)
    removable = [m for m in gone if m not in referenced]

    for start in range(0, len(added), _CHUNK):
        await conn.execute(
            insert(grid_node),
            [
                {"zone_id": zone_id, "mrid": b.mrid, "name": b.name[:200], "vn_kv": b.vn_kv}
                for b in added[start : start + _CHUNK]
            ],
        )
    for b in changed:
        await conn.execute(
            update(grid_node)
            .where(grid_node.c.zone_id == zone_id, grid_node.c.mrid == b.mrid)
            .values(name=b.name[:200], vn_kv=b.vn_kv)
        )
    for start in range(0, len(removable), _CHUNK):
        await conn.execute(
            delete(grid_node).where(
                grid_node.c.zone_id == zone_id,
                grid_node.c.mrid.in_(removable[start : start + _CHUNK]),
            )
        )
    return NodeChanges(
        added=len(added),
        updated=len(changed),
        removed=len(removable),
        kept_referenced=tuple(sorted(referenced)),
    )


async def _referenced(conn: AsyncConnection, zone_id: str, mrids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(mrids), _CHUNK):
        chunk = list(mrids[start : start + _CHUNK])
        query = union(
            select(flex_order.c.node_mrid).where(
                flex_order.c.zone_id == zone_id, flex_order.c.node_mrid.in_(chunk)
            ),
            select(flex_asset.c.node_mrid).where(
                flex_asset.c.zone_id == zone_id, flex_asset.c.node_mrid.in_(chunk)
            ),
        )
        found.update(row[0] for row in await conn.execute(query))
    return found

"""SQL for stored grid models and pending uploads: plain functions over an open connection.

The caller owns the transaction, so a model version, its zone's node list and the job's end
are written together or not at all. Other contexts (market clearing) read the latest model
through `latest_model_json` without going through the REST service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.db.tables import grid_model, grid_model_upload


class StoredFile(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    size_bytes: int
    sha256: str


class NewModel(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a version row holds except its number, which the insert assigns."""

    id: str
    zone_id: str
    name: str
    uploaded_by: str
    created_at: datetime
    upload_sha256: str
    job_id: str | None
    files: tuple[StoredFile, ...]
    summary_json: bytes
    report_json: bytes
    model_json: bytes


class ModelHead(msgspec.Struct, frozen=True, kw_only=True):
    """A version row without the model itself (cheap to list)."""

    id: str
    zone_id: str
    version: int
    name: str
    uploaded_by: str
    created_at: datetime
    upload_sha256: str
    job_id: str | None
    files: tuple[StoredFile, ...]
    summary_json: bytes
    report_json: bytes


class PendingUpload(msgspec.Struct, frozen=True, kw_only=True):
    job_id: str
    zone_id: str
    uploaded_by: str
    name: str
    created_at: datetime
    archive: bytes


_files_decoder = msgspec.json.Decoder(tuple[StoredFile, ...])

_HEAD_COLUMNS = (
    grid_model.c.id,
    grid_model.c.zone_id,
    grid_model.c.version,
    grid_model.c.name,
    grid_model.c.uploaded_by,
    grid_model.c.created_at,
    grid_model.c.upload_sha256,
    grid_model.c.job_id,
    grid_model.c.files_json,
    grid_model.c.summary_json,
    grid_model.c.report_json,
)


def _head(row: Sequence[Any]) -> ModelHead:
    return ModelHead(
        id=row[0],
        zone_id=row[1],
        version=row[2],
        name=row[3],
        uploaded_by=row[4],
        created_at=row[5],
        upload_sha256=row[6],
        job_id=row[7],
        files=_files_decoder.decode(row[8]),
        summary_json=row[9].encode(),
        report_json=row[10].encode(),
    )


async def latest_version(conn: AsyncConnection, zone_id: str) -> int | None:
    value = (
        await conn.execute(
            select(func.max(grid_model.c.version)).where(grid_model.c.zone_id == zone_id)
        )
    ).scalar_one_or_none()
    return None if value is None else int(value)


async def latest_model_json(conn: AsyncConnection, zone_id: str) -> tuple[int, bytes] | None:
    """The zone's newest version number and its `cim.model.to_json` bytes, or None."""
    row = (
        await conn.execute(
            select(grid_model.c.version, grid_model.c.model_json)
            .where(grid_model.c.zone_id == zone_id)
            .order_by(grid_model.c.version.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (int(row[0]), bytes(row[1]))


async def model_json(conn: AsyncConnection, zone_id: str, version: int) -> bytes | None:
    value = (
        await conn.execute(
            select(grid_model.c.model_json).where(
                grid_model.c.zone_id == zone_id, grid_model.c.version == version
            )
        )
    ).scalar_one_or_none()
    return None if value is None else bytes(value)


async def insert_model(conn: AsyncConnection, new: NewModel) -> int:
    """Store a new version numbered one past the zone's latest; returns its number.

    Two concurrent uploads may compute the same number: the unique (zone_id, version)
    constraint then fails one transaction, which the caller retries.
    """
    version = (await latest_version(conn, new.zone_id) or 0) + 1
    await conn.execute(
        insert(grid_model).values(
            id=new.id,
            zone_id=new.zone_id,
            version=version,
            name=new.name,
            uploaded_by=new.uploaded_by,
            created_at=new.created_at,
            upload_sha256=new.upload_sha256,
            job_id=new.job_id,
            files_json=msgspec.json.encode(new.files).decode(),
            summary_json=new.summary_json.decode(),
            report_json=new.report_json.decode(),
            model_json=new.model_json,
        )
    )
    return version


async def model_head(conn: AsyncConnection, zone_id: str, version: int) -> ModelHead | None:
    row = (
        await conn.execute(
            select(*_HEAD_COLUMNS).where(
                grid_model.c.zone_id == zone_id, grid_model.c.version == version
            )
        )
    ).first()
    return None if row is None else _head(row)


async def model_heads(
    conn: AsyncConnection, zone_id: str, before_version: int | None, limit: int
) -> list[ModelHead]:
    """Newest first; `before_version` is the keyset cursor (exclusive)."""
    query = (
        select(*_HEAD_COLUMNS)
        .where(grid_model.c.zone_id == zone_id)
        .order_by(grid_model.c.version.desc())
        .limit(limit)
    )
    if before_version is not None:
        query = query.where(grid_model.c.version < before_version)
    return [_head(row) for row in await conn.execute(query)]


async def model_count(conn: AsyncConnection, zone_id: str | None = None) -> int:
    query = select(func.count()).select_from(grid_model)
    if zone_id is not None:
        query = query.where(grid_model.c.zone_id == zone_id)
    return int((await conn.execute(query)).scalar_one())


async def insert_pending_upload(conn: AsyncConnection, upload: PendingUpload) -> None:
    await conn.execute(
        insert(grid_model_upload).values(
            job_id=upload.job_id,
            zone_id=upload.zone_id,
            uploaded_by=upload.uploaded_by,
            name=upload.name,
            created_at=upload.created_at,
            archive=upload.archive,
        )
    )


async def pending_upload(conn: AsyncConnection, job_id: str) -> PendingUpload | None:
    row = (
        await conn.execute(select(grid_model_upload).where(grid_model_upload.c.job_id == job_id))
    ).first()
    if row is None:
        return None
    return PendingUpload(
        job_id=row.job_id,
        zone_id=row.zone_id,
        uploaded_by=row.uploaded_by,
        name=row.name,
        created_at=row.created_at,
        archive=bytes(row.archive),
    )


async def pending_job_ids(conn: AsyncConnection) -> list[str]:
    """Uploads whose import has not ended (to resume after a restart), oldest first."""
    rows = await conn.execute(
        select(grid_model_upload.c.job_id).order_by(
            grid_model_upload.c.created_at, grid_model_upload.c.job_id
        )
    )
    return [row[0] for row in rows]


async def delete_pending_upload(conn: AsyncConnection, job_id: str) -> int:
    result = await conn.execute(
        delete(grid_model_upload).where(grid_model_upload.c.job_id == job_id)
    )
    return int(result.rowcount)

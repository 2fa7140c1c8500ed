"""Grid models of a zone: upload (a new version each time), versions, nodes, lines, exports.

Object rules follow the zones': a DSO sees only its own zones, every other role sees every
zone's versions, summaries and nodes. Uploading takes `zones:write` and the zone's DSO (or the
market operator). The full model (lines, exports) is the DSO's network data: only the zone's
DSO and the market operator get it.
"""

from __future__ import annotations

import io
import zipfile
from collections import OrderedDict
from typing import Literal, Protocol, TypeVar

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cim.model import GridModel, from_json
from gateway.auth.caller import Caller
from gateway.auth.scopes import ZONES_READ, ZONES_WRITE
from gateway.db.database import Database
from gateway.db.tables import grid_zone
from gateway.domain.clock import Clock
from gateway.domain.grid_models import store
from gateway.domain.grid_models.jobs import ImportJobs
from gateway.domain.grid_models.outcome import check_storable, rejection, store_imported
from gateway.domain.grid_models.runner import ModelRunner
from gateway.domain.grid_models.upload import Upload
from gateway.domain.grid_models.work import ExportFormat, Rejected
from gateway.domain.paging import decode_cursor, decode_int_cursor, encode_cursor
from gateway.errors import BadRequest, Conflict, Forbidden, NotFound
from gateway.messages.common import Role
from gateway.messages.grid_models import (
    GridModelDetail,
    GridModelUploaded,
    GridModelVersion,
    ImportReport,
    ModelLine,
    ModelNode,
    ModelSummary,
    UploadedFile,
)
from gateway.messages.jobs import Job
from gateway.messages.problems import FieldError

Latest = Literal["latest"]
_VERSION_RETRIES = 5
_CACHE_MODELS = 4


def parse_version(raw: str) -> int | Latest:
    if raw == "latest":
        return "latest"
    if raw.isdigit() and 0 < int(raw) < 2**31:
        return int(raw)
    raise BadRequest(
        f"version {raw!r} is neither a positive number nor 'latest'",
        errors=[FieldError(location="path:version", message="a version number or 'latest'")],
    )


def _declared_bytes(upload: Upload) -> int:
    """Uncompressed size as the zips declare it (a lying header is caught by the check)."""
    total = 0
    for part in upload.parts:
        if part.data[:4] == b"PK\x03\x04":
            try:
                with zipfile.ZipFile(io.BytesIO(part.data)) as archive:
                    total += sum(i.file_size for i in archive.infolist())
                continue
            except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
                pass  # the import reports it with the file named
        total += len(part.data)
    return total


def _detail(head: store.ModelHead) -> GridModelDetail:
    report = msgspec.json.decode(head.report_json, type=ImportReport)
    counts = {"error": 0, "warning": 0, "info": 0}
    for finding in report.findings:
        counts[finding.severity] += 1
    return GridModelDetail(
        id=head.id,
        zone_id=head.zone_id,
        version=head.version,
        name=head.name,
        uploaded_by=head.uploaded_by,
        created_at=head.created_at,
        upload_sha256=head.upload_sha256,
        files=tuple(
            UploadedFile(name=f.name, size_bytes=f.size_bytes, sha256=f.sha256) for f in head.files
        ),
        summary=msgspec.json.decode(head.summary_json, type=ModelSummary),
        finding_counts=counts,
        job_id=head.job_id,
        report=report,
    )


def _version(detail: GridModelDetail) -> GridModelVersion:
    fields = {f: getattr(detail, f) for f in GridModelVersion.__struct_fields__}
    return GridModelVersion(**fields)


class GridModelService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        runner: ModelRunner,
        jobs: ImportJobs,
        async_threshold_bytes: int,
    ) -> None:
        self._db = db
        self._clock = clock
        self._runner = runner
        self._jobs = jobs
        self._threshold = async_threshold_bytes
        self._models: OrderedDict[str, GridModel] = OrderedDict()

    # --- object rules ---------------------------------------------------------------------
    async def _zone_owner(self, caller: Caller, zone_id: str, scope: str) -> str:
        caller.require(scope)
        async with self._db.connect() as conn:
            owner = (
                await conn.execute(select(grid_zone.c.dso_id).where(grid_zone.c.id == zone_id))
            ).scalar_one_or_none()
        if owner is None or (caller.role is Role.DSO and owner != caller.participant_id):
            raise NotFound(f"grid zone {zone_id} not found")
        return str(owner)

    async def _may_upload(self, caller: Caller, zone_id: str) -> None:
        await self._zone_owner(caller, zone_id, ZONES_WRITE)
        if caller.role not in (Role.DSO, Role.FMO):
            raise Forbidden("only the zone's DSO or the market operator uploads its model")

    async def _may_read_network(self, caller: Caller, zone_id: str) -> None:
        await self._zone_owner(caller, zone_id, ZONES_READ)
        if caller.role not in (Role.DSO, Role.FMO):
            raise Forbidden("the full network model is for the zone's DSO and the market operator")

    # --- upload ---------------------------------------------------------------------------
    async def upload(self, caller: Caller, zone_id: str, upload: Upload) -> GridModelUploaded | Job:
        """A new version now (small uploads) or an accepted import job (large ones)."""
        await self._may_upload(caller, zone_id)
        if _declared_bytes(upload) > self._threshold:
            checked = await self._runner.check(upload.parts)
            if isinstance(checked, Rejected):
                raise rejection(checked)
            return await self._jobs.accept(caller, zone_id, upload)
        outcome = await self._runner.run_import(upload.parts, upload.name)
        if not isinstance(outcome, Rejected):
            outcome = check_storable(outcome) or outcome
        if isinstance(outcome, Rejected):
            raise rejection(outcome)
        for _ in range(_VERSION_RETRIES):
            try:
                async with self._db.begin() as conn:
                    version, changes = await store_imported(
                        conn,
                        zone_id=zone_id,
                        uploaded_by=caller.participant_id,
                        upload=upload,
                        imported=outcome,
                        created_at=self._clock(),
                        job_id=None,
                    )
                break
            except IntegrityError:
                continue  # another upload took this version number; number again
        else:
            raise Conflict("uploads to this zone keep colliding; try again")
        detail = await self.get(caller, zone_id, str(version))
        fields = {f: getattr(detail, f) for f in GridModelDetail.__struct_fields__}
        return GridModelUploaded(**fields, nodes=changes)

    # --- reads ----------------------------------------------------------------------------
    async def _head(self, zone_id: str, raw_version: str) -> store.ModelHead:
        wanted = parse_version(raw_version)
        async with self._db.connect() as conn:
            number = await store.latest_version(conn, zone_id) if wanted == "latest" else wanted
            head = None if number is None else await store.model_head(conn, zone_id, number)
        if head is None:
            what = "no model" if wanted == "latest" else f"no model version {wanted}"
            raise NotFound(f"grid zone {zone_id} has {what}")
        return head

    async def versions(
        self, caller: Caller, zone_id: str, cursor: str | None, limit: int
    ) -> tuple[list[GridModelVersion], str | None]:
        await self._zone_owner(caller, zone_id, ZONES_READ)
        before = decode_int_cursor(cursor)
        async with self._db.connect() as conn:
            heads = await store.model_heads(conn, zone_id, before, limit + 1)
        items = [_version(_detail(h)) for h in heads[:limit]]
        more = len(heads) > limit
        return items, encode_cursor(str(items[-1].version)) if more else None

    async def get(self, caller: Caller, zone_id: str, version: str) -> GridModelDetail:
        await self._zone_owner(caller, zone_id, ZONES_READ)
        return _detail(await self._head(zone_id, version))

    async def _model(self, zone_id: str, version: str) -> GridModel:
        head = await self._head(zone_id, version)
        cached = self._models.get(head.id)
        if cached is not None:
            self._models.move_to_end(head.id)
            return cached
        async with self._db.connect() as conn:
            data = await store.model_json(conn, zone_id, head.version)
        if data is None:  # deleted between the two reads: versions are never deleted
            raise NotFound(f"grid zone {zone_id} has no model version {head.version}")
        model = from_json(data)
        self._models[head.id] = model  # rows never change, so a cached model never goes stale
        while len(self._models) > _CACHE_MODELS:
            self._models.popitem(last=False)
        return model

    async def nodes(
        self, caller: Caller, zone_id: str, version: str, cursor: str | None, limit: int
    ) -> tuple[list[ModelNode], str | None]:
        await self._zone_owner(caller, zone_id, ZONES_READ)
        model = await self._model(zone_id, version)
        buses, next_cursor = _by_mrid(model.buses, cursor, limit)
        items = [
            ModelNode(
                mrid=b.mrid,
                name=b.name,
                vn_kv=b.vn_kv,
                connectivity_node_mrids=b.connectivity_node_mrids,
                v_min_kv=b.v_min_kv,
                v_max_kv=b.v_max_kv,
            )
            for b in buses
        ]
        return items, next_cursor

    async def lines(
        self, caller: Caller, zone_id: str, version: str, cursor: str | None, limit: int
    ) -> tuple[list[ModelLine], str | None]:
        await self._may_read_network(caller, zone_id)
        model = await self._model(zone_id, version)
        lines, next_cursor = _by_mrid(model.lines, cursor, limit)
        items = [
            ModelLine(
                mrid=x.mrid,
                name=x.name,
                from_bus=x.from_bus,
                to_bus=x.to_bus,
                r_ohm=x.r_ohm,
                x_ohm=x.x_ohm,
                b_siemens=x.b_siemens,
                g_siemens=x.g_siemens,
                length_km=x.length_km,
                i_max_ka=x.i_max_ka,
                in_service=x.in_service,
            )
            for x in lines
        ]
        return items, next_cursor

    async def export(
        self, caller: Caller, zone_id: str, version: str, fmt: ExportFormat
    ) -> tuple[bytes, str, str]:
        """(content, media type, file name)."""
        await self._may_read_network(caller, zone_id)
        head = await self._head(zone_id, version)
        async with self._db.connect() as conn:
            data = await store.model_json(conn, zone_id, head.version)
        if data is None:
            raise NotFound(f"grid zone {zone_id} has no model version {head.version}")
        stem = f"{zone_id}-v{head.version}"
        content = await self._runner.export(data, fmt, stem)
        if fmt == "cgmes":
            return content, "application/zip", f"{stem}-cgmes.zip"
        return content, "application/json", f"{stem}-pandapower.json"


class _HasMrid(Protocol):
    @property
    def mrid(self) -> str: ...


_E = TypeVar("_E", bound=_HasMrid)


def _by_mrid(
    elements: tuple[_E, ...], cursor: str | None, limit: int
) -> tuple[list[_E], str | None]:
    """One cursor page of a model's elements in mRID order (the cursor is the last mRID)."""
    after = decode_cursor(cursor)
    chosen = sorted((e for e in elements if after is None or e.mrid > after), key=lambda e: e.mrid)
    page = chosen[:limit]
    return page, encode_cursor(page[-1].mrid) if len(chosen) > limit else None

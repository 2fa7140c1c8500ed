"""Turning an import outcome into what the gateway answers and stores.

A rejected import becomes one problem (413 when a size or zip-bomb limit was hit, else 422)
whose `errors[]` name the file, the object's mRID and the attribute of every finding. An
accepted one is written as a new version together with the zone's node list: the caller owns
the transaction, so nothing is stored unless all of it is.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from cim.report import Finding
from gateway.domain.clock import new_id
from gateway.domain.grid_models import store
from gateway.domain.grid_models.nodes import replace_zone_nodes
from gateway.domain.grid_models.upload import PayloadTooLarge, Upload
from gateway.domain.grid_models.work import Imported, Rejected
from gateway.errors import GatewayError, Unprocessable
from gateway.messages.grid_models import CimFieldError, NodeChanges
from gateway.messages.problems import FieldError, ProblemDetails

# Reader codes that mean "too big" rather than "wrong": answered with 413.
SIZE_CODES = frozenset(
    ("file_too_large", "zip_too_large", "upload_too_large", "zip_bomb", "zip_too_many_members")
)
MAX_ERRORS = 100
MRID_MAX = 128  # grid_node.mrid


def location(finding: Finding) -> str:
    parts = [
        f"{label}:{value}"
        for label, value in (
            ("file", finding.file),
            ("mrid", finding.mrid),
            ("attribute", finding.attribute),
        )
        if value
    ]
    return "/".join(parts) or "upload"


def field_error(finding: Finding) -> CimFieldError:
    return CimFieldError(
        location=location(finding),
        message=f"{finding.code}: {finding.message}",
        code=finding.code,
        severity=finding.severity,
        file=finding.file,
        mrid=finding.mrid,
        attribute=finding.attribute,
    )


def rejection(rejected: Rejected) -> GatewayError:
    aborting = [f for f in rejected.findings if f.severity in ("error", "warning")] or list(
        rejected.findings
    )
    first = aborting[0] if aborting else Finding(code="unknown", severity="error", message="")
    errors: list[FieldError] = [field_error(f) for f in aborting[:MAX_ERRORS]]
    where = location(first)
    detail = f"{first.code}: {first.message} [{where}]"
    if len(aborting) > 1:
        detail += f" (+{len(aborting) - 1} more)"
    if first.code in SIZE_CODES:
        return PayloadTooLarge(detail, errors=errors)
    error = Unprocessable(detail, errors=errors)
    error.slug, error.title = "cim-import-rejected", "The CIM model was rejected"
    return error


def problem_of(rejected: Rejected, instance: str) -> ProblemDetails:
    return rejection(rejected).to_problem(instance=instance)


def check_storable(imported: Imported) -> Rejected | None:
    """What the database cannot hold although the importer accepted it."""
    long = next((b for b in imported.buses if len(b.mrid) > MRID_MAX), None)
    if long is not None:
        return Rejected(
            findings=(
                Finding(
                    code="mrid_too_long",
                    severity="error",
                    message=f"node mRIDs longer than {MRID_MAX} characters are not accepted",
                    mrid=long.mrid[:MRID_MAX] + "...",
                    attribute="IdentifiedObject.mRID",
                ),
            )
        )
    return None


async def store_imported(
    conn: AsyncConnection,
    *,
    zone_id: str,
    uploaded_by: str,
    upload: Upload,
    imported: Imported,
    created_at: datetime,
    job_id: str | None,
) -> tuple[int, NodeChanges]:
    version = await store.insert_model(
        conn,
        store.NewModel(
            id=new_id(),
            zone_id=zone_id,
            name=upload.name,
            uploaded_by=uploaded_by,
            created_at=created_at,
            upload_sha256=upload.sha256,
            job_id=job_id,
            files=tuple(
                store.StoredFile(name=f.name, size_bytes=f.size_bytes, sha256=f.sha256)
                for f in upload.files
            ),
            summary_json=imported.summary_json,
            report_json=imported.report_json,
            model_json=imported.model_json,
        ),
    )
    changes = await replace_zone_nodes(conn, zone_id, imported.buses)
    return version, changes


archive_encoder = msgspec.msgpack.Encoder()
archive_decoder = msgspec.msgpack.Decoder(Upload)

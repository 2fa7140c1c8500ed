"""REST bodies of grid models: versions of a zone's CGMES import, their nodes, lines and report.

Output only: the upload itself is multipart/form-data or a zip, not JSON.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from gateway.messages.common import Id, UtcDatetime
from gateway.messages.problems import FieldError

Severity = Literal["error", "warning", "info"]


class UploadedFile(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    size_bytes: Annotated[int, msgspec.Meta(ge=0)]
    sha256: Annotated[str, msgspec.Meta(description="hex SHA-256 of the file as uploaded")]


class ImportFinding(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One validation finding of the import, located by file, object mRID and attribute."""

    code: str
    severity: Severity
    message: str
    file: str | None = None
    mrid: str | None = None
    attribute: str | None = None


class CimFieldError(FieldError, frozen=True, kw_only=True, omit_defaults=True):
    """A problem-details error item for bad CIM input; `location` repeats file/mRID/attribute
    as one string so that clients reading only the generic fields still see them."""

    code: str = ""
    severity: Severity = "error"
    file: str | None = None
    mrid: str | None = None
    attribute: str | None = None


class ModelSummary(msgspec.Struct, frozen=True, kw_only=True):
    counts: Annotated[dict[str, int], msgspec.Meta(description="element count per class")]
    voltage_levels_kv: tuple[float, ...]
    total_load_mw: float
    total_generation_mw: float


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    files: Annotated[tuple[str, ...], msgspec.Meta(description="documents read (zips expanded)")]
    profiles: Annotated[dict[str, str], msgspec.Meta(description="document -> CGMES profile(s)")]
    findings: tuple[ImportFinding, ...]
    object_count: int
    seconds: float


class GridModelVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One stored import: its summary, not the model itself."""

    id: Id
    zone_id: Id
    version: Annotated[int, msgspec.Meta(ge=1)]
    name: str
    uploaded_by: Id
    created_at: UtcDatetime
    upload_sha256: str
    files: tuple[UploadedFile, ...]
    summary: ModelSummary
    finding_counts: Annotated[dict[str, int], msgspec.Meta(description="findings per severity")]
    job_id: Id | None = None


class GridModelDetail(GridModelVersion, frozen=True, kw_only=True):
    report: ImportReport


class NodeChanges(msgspec.Struct, frozen=True, kw_only=True):
    """What an upload did to the zone's node list (the mRIDs orders may name)."""

    added: int
    updated: int
    removed: int
    kept_referenced: Annotated[
        tuple[str, ...],
        msgspec.Meta(
            description="nodes absent from the model but kept: orders or assets name them"
        ),
    ]


class GridModelUploaded(GridModelDetail, frozen=True, kw_only=True):
    nodes: NodeChanges


class GridModelPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[GridModelVersion]
    next_cursor: str | None = None


class ModelNode(msgspec.Struct, frozen=True, kw_only=True):
    mrid: str
    name: str
    vn_kv: float
    connectivity_node_mrids: tuple[str, ...] = ()
    v_min_kv: float | None = None
    v_max_kv: float | None = None


class ModelNodePage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ModelNode]
    next_cursor: str | None = None


class ModelLine(msgspec.Struct, frozen=True, kw_only=True):
    mrid: str
    name: str
    from_bus: str
    to_bus: str
    r_ohm: float
    x_ohm: float
    b_siemens: float
    g_siemens: float
    length_km: float
    i_max_ka: float | None = None
    in_service: bool = True


class ModelLinePage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ModelLine]
    next_cursor: str | None = None


class ImportJobOutput(msgspec.Struct, frozen=True, kw_only=True):
    """The result of a `cim-import` job: where the new version is."""

    zone_id: Id
    version: int
    model_url: str
    summary: ModelSummary
    nodes: NodeChanges

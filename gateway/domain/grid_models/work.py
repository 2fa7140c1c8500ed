"""The CPU-bound work of grid models, run off the event loop (in a worker process or thread).

Plain data in, plain data out, no database and no network: each function calls into `cim/`
(imported lazily, so that importing this module, as the gateway does, stays light) and returns
an outcome value. Bad input is an outcome (`Rejected`), not an exception, so that it crosses a
process boundary intact (CimImportError does not pickle).
"""

from __future__ import annotations

import io
import logging
import multiprocessing.queues
import zipfile
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import msgspec

from cim.reader import ReaderLimits
from cim.report import CimImportError, Finding

log = logging.getLogger("flexgrid.grid_models")

Progress = Callable[[float, str], None]
ExportFormat = Literal["cgmes", "pandapower"]


class Part(msgspec.Struct, frozen=True):
    """One uploaded file (an XML document or a zip of them)."""

    name: str
    data: bytes


class BusRow(msgspec.Struct, frozen=True):
    mrid: str
    name: str
    vn_kv: float


class Imported(msgspec.Struct, frozen=True, kw_only=True, tag="imported"):
    model_json: bytes
    report_json: bytes
    summary_json: bytes
    buses: tuple[BusRow, ...]


class Rejected(msgspec.Struct, frozen=True, kw_only=True, tag="rejected"):
    findings: tuple[Finding, ...]


class Checked(msgspec.Struct, frozen=True, kw_only=True, tag="checked"):
    documents: int
    total_bytes: int


ImportOutcome = Imported | Rejected
CheckOutcome = Checked | Rejected

_UNEXPECTED = "unexpected_import_error"


def _unexpected(exc: Exception) -> Rejected:
    # A bug in the importer met by some input: the uploader gets a 422 naming the error and
    # the log gets the traceback; a 500 would tell the uploader nothing.
    log.exception("CIM import raised unexpectedly")
    return Rejected(
        findings=(
            Finding(
                code=_UNEXPECTED,
                severity="error",
                message=f"the importer could not process this input ({type(exc).__name__})",
            ),
        )
    )


def check_upload(parts: Sequence[Part], limits: ReaderLimits) -> CheckOutcome:
    """Expand zips within the limits (sizes, ratio, members): the cheap part of an import."""
    from cim.reader import read_documents

    try:
        docs = read_documents([(p.name, p.data) for p in parts], limits)
    except CimImportError as exc:
        return Rejected(findings=exc.findings)
    except Exception as exc:
        return _unexpected(exc)
    return Checked(documents=len(docs), total_bytes=sum(len(d.data) for d in docs))


def import_upload(
    parts: Sequence[Part], limits: ReaderLimits, name: str, progress: Progress | None = None
) -> ImportOutcome:
    """The whole import: the model, its report and summary as JSON, and its buses."""
    from cim.importer import import_cgmes
    from cim.model import summary, to_json

    try:
        model, report = import_cgmes(
            [(p.name, p.data) for p in parts], progress=progress, limits=limits, name=name
        )
    except CimImportError as exc:
        return Rejected(findings=exc.findings)
    except Exception as exc:
        return _unexpected(exc)
    return Imported(
        model_json=to_json(model),
        report_json=msgspec.json.encode(report),
        summary_json=msgspec.json.encode(summary(model)),
        buses=tuple(BusRow(b.mrid, b.name, b.vn_kv) for b in model.buses),
    )


def export_model(model_json: bytes, fmt: ExportFormat, name: str) -> bytes:
    """CGMES as a zip of EQ, TP, SSH and SV (voltages from an AC power flow when it
    converges, else those the model was imported with), or pandapower JSON."""
    from cim.export import to_cgmes, to_pandapower_json
    from cim.model import from_json
    from cim.to_pandapower import run_power_flow

    model = from_json(model_json)
    if fmt == "pandapower":
        return to_pandapower_json(model).encode()
    if model.buses:
        flow = run_power_flow(model)
        if flow.converged:
            model = msgspec.structs.replace(model, sv_voltages=flow.voltages)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for profile, document in to_cgmes(model, name or "flexgrid").items():
            archive.writestr(f"{name or 'model'}_{profile}.xml", document)
    return out.getvalue()


if TYPE_CHECKING:
    ProgressQueue = multiprocessing.queues.Queue[tuple[str, float, str] | None]

# --- process-pool side --------------------------------------------------------------------
# A pool worker reports progress through the queue handed to its initializer: the standard
# way to give pool workers a channel, set once per worker process, never in the gateway.
_queue: ProgressQueue | None = None


def init_worker(queue: ProgressQueue) -> None:
    global _queue
    _queue = queue
    logging.getLogger("cimpy").setLevel(logging.WARNING)


def import_in_worker(token: str, parts: Sequence[Part], limits: ReaderLimits, name: str) -> bytes:
    """`import_upload` in a pool worker; the outcome travels back msgpack-encoded."""
    queue = _queue

    def progress(fraction: float, stage: str) -> None:
        if queue is not None:
            queue.put((token, fraction, stage))

    return msgspec.msgpack.encode(import_upload(parts, limits, name, progress))


def check_in_worker(parts: Sequence[Part], limits: ReaderLimits) -> bytes:
    return msgspec.msgpack.encode(check_upload(parts, limits))


import_decoder: msgspec.msgpack.Decoder[ImportOutcome] = msgspec.msgpack.Decoder(ImportOutcome)
check_decoder: msgspec.msgpack.Decoder[CheckOutcome] = msgspec.msgpack.Decoder(CheckOutcome)

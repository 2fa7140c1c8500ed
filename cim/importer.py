"""Public entry point: files in, (GridModel, ImportReport) out, or one CimImportError."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from cim.mapping import map_model
from cim.model import GridModel
from cim.reader import ReaderLimits, Source, read_documents
from cim.report import CimImportError, Finding, ImportReport, error
from cim.scan import scan_documents
from cim.validation import validate

Progress = Callable[[float, str], None]


def _required_profiles(profiles: dict[str, str], has_nodes: bool) -> list[Finding]:
    present = {p for value in profiles.values() for p in value.split("+") if p}
    findings = []
    if present and "EQ" not in present:
        findings.append(
            Finding(
                code="missing_profile",
                severity="error",
                attribute="EQ",
                message="no Equipment (EQ) profile among the files",
            )
        )
    if not has_nodes:
        findings.append(
            Finding(
                code="missing_profile",
                severity="error",
                attribute="TP",
                message="no topological or connectivity nodes (TP profile missing?)",
            )
        )
    if present and "SSH" not in present:
        findings.append(
            Finding(
                code="missing_profile",
                severity="info",
                attribute="SSH",
                message="no SSH profile: setpoints from EQ defaults or SV flows",
            )
        )
    return findings


def import_cgmes(
    files: Sequence[Source],
    *,
    strict: bool = False,
    progress: Progress | None = None,
    limits: ReaderLimits | None = None,
    name: str = "",
) -> tuple[GridModel, ImportReport]:
    """Import CGMES 2.4.15 / CIM16 files (XML, or zips of them).

    Errors always abort; with `strict`, warnings abort too. Nothing partial is returned.
    """
    from cim.cimpy_edge import cimpy_import

    started = time.perf_counter()
    report_progress = progress or (lambda _fraction, _stage: None)
    report_progress(0.0, "read")
    docs = read_documents(files, limits)
    report_progress(0.05, "scan")
    scan = scan_documents(docs)
    has_nodes = scan.class_counts["TopologicalNode"] + scan.class_counts["ConnectivityNode"] > 0
    findings = [*scan.findings, *_required_profiles(scan.profiles, has_nodes)]
    if any(f.severity == "error" for f in findings):
        raise CimImportError(findings)
    report_progress(0.15, "parse")
    objects = cimpy_import(docs)
    report_progress(0.8, "map")
    model, mapped = map_model(objects, scan, name)
    findings += mapped
    report_progress(0.9, "validate")
    findings += validate(model, scan)
    aborting = ("error", "warning") if strict else ("error",)
    if any(f.severity in aborting for f in findings):
        raise CimImportError(sorted(findings, key=lambda f: f.severity != "error"))
    report = ImportReport(
        files=tuple(d.name for d in docs),
        profiles=scan.profiles,
        findings=tuple(findings),
        object_count=len(objects),
        seconds=time.perf_counter() - started,
    )
    report_progress(1.0, "done")
    return model, report


__all__ = ["CimImportError", "ImportReport", "error", "import_cgmes"]

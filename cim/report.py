"""Findings, the import report and the one typed error for bad CIM input (stdlib + msgspec only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

Severity = Literal["error", "warning", "info"]


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    severity: Severity
    message: str
    file: str | None = None
    mrid: str | None = None
    attribute: str | None = None


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    files: tuple[str, ...] = ()
    profiles: dict[str, str] = {}
    findings: tuple[Finding, ...] = ()
    object_count: int = 0
    seconds: float = 0.0

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")


class CimImportError(Exception):
    """Bad CIM input. Carries every finding; code/file/mrid/attribute name the first error."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        self.findings: tuple[Finding, ...] = tuple(findings)
        # In strict mode a warning can be what aborts; it is then the one named.
        first = next((f for f in self.findings if f.severity == "error"), None) or next(
            (f for f in self.findings if f.severity == "warning"), None
        )
        if first is None:
            first = Finding(code="unknown", severity="error", message="CIM import failed")
            self.findings = (first, *self.findings)
        self.code = first.code
        self.file = first.file
        self.mrid = first.mrid
        self.attribute = first.attribute
        where = ", ".join(
            f"{label} {value}"
            for label, value in (
                ("file", first.file),
                ("mRID", first.mrid),
                ("attribute", first.attribute),
            )
            if value
        )
        extra = len(self.findings) - 1
        more = f" (+{extra} more findings)" if extra else ""
        super().__init__(f"{first.code}: {first.message}" + (f" [{where}]" if where else "") + more)


def error(
    code: str,
    message: str,
    *,
    file: str | None = None,
    mrid: str | None = None,
    attribute: str | None = None,
) -> CimImportError:
    return CimImportError(
        [
            Finding(
                code=code,
                severity="error",
                message=message,
                file=file,
                mrid=mrid,
                attribute=attribute,
            )
        ]
    )

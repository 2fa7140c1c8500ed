"""Turn uploaded files, zips or paths into named XML documents, within size limits.

Limits apply to what is actually read, not to what a zip header claims: a zip bomb can lie in its
headers, so members are streamed with a running byte budget.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import msgspec

from cim.report import error

_CHUNK = 1 << 20


class ReaderLimits(msgspec.Struct, frozen=True, kw_only=True):
    max_file_bytes: int = 256 * 1024 * 1024
    max_total_bytes: int = 1024 * 1024 * 1024
    max_zip_members: int = 256
    max_compression_ratio: float = 200.0


class Document(msgspec.Struct, frozen=True):
    name: str
    data: bytes


Source = tuple[str, bytes] | str | Path


def _load(source: Source, limits: ReaderLimits) -> tuple[str, bytes]:
    if isinstance(source, tuple):
        return source
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise error(
                "file_too_large",
                f"{size} bytes exceeds the limit of {limits.max_file_bytes}",
                file=path.name,
            )
        return path.name, path.read_bytes()
    except OSError as exc:
        raise error("unreadable_file", f"cannot read file: {exc.strerror}", file=str(path)) from exc


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, budget: int, limits: ReaderLimits
) -> bytes:
    cap = min(budget, limits.max_file_bytes)
    allowed_by_ratio = max(info.compress_size, 1) * limits.max_compression_ratio
    out = io.BytesIO()
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            out.write(chunk)
            if out.tell() > cap:
                raise error(
                    "zip_too_large",
                    f"uncompressed size exceeds the limit of {cap} bytes",
                    file=label,
                )
            if out.tell() > allowed_by_ratio and out.tell() > _CHUNK:
                raise error(
                    "zip_bomb",
                    f"compression ratio exceeds {limits.max_compression_ratio:g}",
                    file=label,
                )
    return out.getvalue()


def _unzip(name: str, data: bytes, limits: ReaderLimits, budget: int) -> list[Document]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [i for i in archive.infolist() if not i.is_dir()]
        if len(members) > limits.max_zip_members:
            raise error(
                "zip_too_many_members",
                f"{len(members)} members exceed the limit of {limits.max_zip_members}",
                file=name,
            )
        docs: list[Document] = []
        for info in members:
            label = f"{name}/{info.filename}"
            if info.flag_bits & 0x1:
                raise error("zip_encrypted", "encrypted zip members are not supported", file=label)
            content = _read_member(archive, info, label, budget, limits)
            budget -= len(content)
            if content[:4] == b"PK\x03\x04":
                raise error("zip_nested", "zips inside zips are not accepted", file=label)
            docs.append(Document(label, content))
        return docs
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise error("bad_zip", f"corrupt or unsupported zip: {exc}", file=name) from exc


def read_documents(sources: Sequence[Source], limits: ReaderLimits | None = None) -> list[Document]:
    """Load every source; zips are expanded into their members (one level only)."""
    limits = limits or ReaderLimits()
    if not sources:
        raise error("no_files", "no CIM files were given")
    docs: list[Document] = []
    total = 0
    for source in sources:
        name, data = _load(source, limits)
        if len(data) > limits.max_file_bytes:
            raise error(
                "file_too_large",
                f"{len(data)} bytes exceeds the limit of {limits.max_file_bytes}",
                file=name,
            )
        if data[:4] == b"PK\x03\x04":
            expanded = _unzip(name, data, limits, limits.max_total_bytes - total)
        else:
            expanded = [Document(name, data)]
        for doc in expanded:
            total += len(doc.data)
            if total > limits.max_total_bytes:
                raise error(
                    "upload_too_large",
                    f"total size exceeds the limit of {limits.max_total_bytes} bytes",
                    file=doc.name,
                )
            docs.append(doc)
    names = [d.name for d in docs]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise error("duplicate_file", "the same file name was given twice", file=dup)
    return docs

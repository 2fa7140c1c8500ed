"""Reading a model upload from the request: multipart/form-data file parts, or one zip body.

The body limit is enforced while the body streams in (Litestar counts the bytes against the
route's `request_max_body_size`, which the composition root sets from the settings), so an
oversized upload is refused before it is held in memory whole.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from gateway.domain.grid_models.work import Part
from gateway.errors import BadRequest, GatewayError, Unprocessable, UnsupportedMediaType
from gateway.messages.grid_models import UploadedFile
from gateway.messages.problems import FieldError

MULTIPART = "multipart/form-data"
ZIP_TYPES = frozenset(("application/zip", "application/x-zip-compressed"))
_FILENAME = re.compile(r'filename="?([^";]+)"?')
_BAD_NAME = re.compile(r"[\x00-\x1f/\\]")


class PayloadTooLarge(GatewayError):
    status, slug, title = 413, "payload-too-large", "The upload is too large"


class Upload(msgspec.Struct, frozen=True, kw_only=True):
    parts: tuple[Part, ...]
    name: str

    @property
    def files(self) -> tuple[UploadedFile, ...]:
        return tuple(
            UploadedFile(
                name=p.name, size_bytes=len(p.data), sha256=hashlib.sha256(p.data).hexdigest()
            )
            for p in self.parts
        )

    @property
    def sha256(self) -> str:
        """One digest over the files in upload order (names and contents)."""
        digest = hashlib.sha256()
        for f in self.files:
            digest.update(f"{f.name}\x00{f.sha256}\n".encode())
        return digest.hexdigest()


def media_type(request: Request[Any, Any, Any]) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def require_upload_body(request: Request[Any, Any, Any]) -> None:
    """Before-request hook of the upload route: multipart or zip, nothing else (415)."""
    kind = media_type(request)
    if kind != MULTIPART and kind not in ZIP_TYPES:
        shown = request.headers.get("content-type") or "no Content-Type"
        raise UnsupportedMediaType(
            f"send the model as multipart/form-data file parts or as application/zip, not {shown!r}"
        )


def _safe_name(raw: str, index: int) -> str:
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or _BAD_NAME.search(name) or len(name) > 200:
        return f"file-{index + 1}"
    return name


async def read_upload(request: Request[Any, Any, Any], limit_bytes: int) -> Upload:
    try:
        if media_type(request) in ZIP_TYPES:
            body = await request.body()
            found = _FILENAME.search(request.headers.get("content-disposition", ""))
            name = _safe_name(found.group(1), 0) if found else "upload.zip"
            parts: tuple[Part, ...] = (Part(name, body),) if body else ()
            model_name = request.query_params.get("name", "")
        else:
            parts, model_name = await _read_form(request)
    except RequestEntityTooLarge as exc:
        raise PayloadTooLarge(
            f"the upload exceeds the limit of {limit_bytes} bytes",
            errors=[FieldError(location="body", message=f"more than {limit_bytes} bytes")],
        ) from exc
    if not parts:
        raise Unprocessable(
            "no files in the upload: send CGMES XML files or one zip",
            errors=[FieldError(location="body", message="no file parts")],
        )
    names = [p.name for p in parts]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise Unprocessable(
            f"the file name {duplicate!r} appears twice",
            errors=[FieldError(location=f"file:{duplicate}", message="duplicate file name")],
        )
    return Upload(parts=parts, name=model_name[:200])


async def _read_form(request: Request[Any, Any, Any]) -> tuple[tuple[Part, ...], str]:
    try:
        form = await request.form()
    except RequestEntityTooLarge:
        raise
    except Exception as exc:  # the multipart parser's own errors: a malformed body
        raise BadRequest(f"malformed multipart body: {exc}") from exc
    parts: list[Part] = []
    model_name = ""
    for field, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            await value.close()
            parts.append(Part(_safe_name(value.filename or field, len(parts)), data))
        elif field == "name" and isinstance(value, str):
            model_name = value.strip()
    return tuple(parts), model_name

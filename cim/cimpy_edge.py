"""The one place that calls cimpy's importer; quiet, and with its failures turned into findings."""

from __future__ import annotations

import importlib
import io
import logging
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cim.reader import Document
from cim.report import CimImportError, error

CGMES_VERSION = "cgmes_v2_4_15"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


@contextmanager
def quiet_cimpy() -> Iterator[None]:
    """cimpy logs a line per object class and attribute problem; restore the level afterwards."""
    logger = logging.getLogger("cimpy")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(previous)


def cimpy_import(docs: list[Document]) -> dict[str, Any]:
    """Return cimpy's topology dict (mRID -> object)."""
    import cimpy

    try:
        with quiet_cimpy():
            result = cimpy.cim_import([io.BytesIO(d.data) for d in docs], CGMES_VERSION)
    except Exception as exc:
        # cimpy raises bare ValueError/KeyError on values it cannot convert; find which one.
        raise _diagnose(docs, exc) from exc
    topology: dict[str, Any] = result["topology"]
    return topology


def _default_for(cls: str, attribute: str, cache: dict[str, Any]) -> Any:
    if cls not in cache:
        try:
            module = importlib.import_module(f"cimpy.{CGMES_VERSION}.{cls}")
            cache[cls] = getattr(module, cls)()
        except (ImportError, AttributeError):
            cache[cls] = None
    return getattr(cache[cls], attribute, None)


def _diagnose(docs: list[Document], exc: Exception) -> CimImportError:
    classes: dict[str, str] = {}
    cache: dict[str, Any] = {}
    roots = [(d.name, ET.fromstring(d.data)) for d in docs]  # noqa: S314 - scanned before
    for _, root in roots:
        for obj in root:
            if (mrid := obj.get(f"{_RDF}ID")) is not None:
                classes[mrid] = obj.tag.rpartition("}")[2]
    for name, root in roots:
        for obj in root:
            mrid = obj.get(f"{_RDF}ID") or (obj.get(f"{_RDF}about") or "").removeprefix("#")
            cls = classes.get(mrid, obj.tag.rpartition("}")[2])
            for prop in obj:
                if prop.get(f"{_RDF}resource") is not None:
                    continue
                attribute = prop.tag.rpartition("}")[2]
                default = _default_for(cls, attribute.rpartition(".")[2], cache)
                if isinstance(default, bool) or not isinstance(default, int | float):
                    continue
                try:
                    type(default)(prop.text or "")
                except (TypeError, ValueError):
                    return error(
                        "bad_value",
                        f"{prop.text!r} is not a valid {type(default).__name__}",
                        file=name,
                        mrid=mrid,
                        attribute=attribute,
                    )
    return error(
        "cimpy_failed",
        f"cimpy could not read the files: {type(exc).__name__}: {exc}",
        file=docs[0].name,
    )

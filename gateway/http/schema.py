"""Tightens the generated OpenAPI document where Litestar leaves it loose."""

from __future__ import annotations

import inspect
from types import ModuleType

import msgspec
from litestar.openapi.spec import OpenAPI

from gateway.messages import common, jobs, orders, participants, problems, sessions

_MODULES: tuple[ModuleType, ...] = (common, jobs, orders, participants, problems, sessions)


def _strict_structs() -> set[str]:
    names = set()
    for module in _MODULES:
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, msgspec.Struct) and obj.__struct_config__.forbid_unknown_fields:
                names.add(name)
    return names


def forbid_unknown_properties(document: OpenAPI) -> OpenAPI:
    """Bodies that refuse unknown fields say so (`additionalProperties: false`), so clients
    and schemathesis know what the server enforces."""
    schemas = document.components.schemas if document.components else None
    if schemas:
        for name in _strict_structs() & set(schemas):
            schemas[name].additional_properties = False
    return document

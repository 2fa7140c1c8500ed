from __future__ import annotations

import enum

import msgspec


class CheckStatus(enum.StrEnum):
    OK = "ok"
    FAILING = "failing"


class Check(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    status: CheckStatus
    detail: str = ""


class Health(msgspec.Struct, frozen=True, kw_only=True):
    status: CheckStatus
    version: str
    checks: list[Check]

"""Which roles may run which engine kinds as jobs.

Kept in the gateway (not on the engine classes) because the gateway must decide without
importing an engine's numerical libraries. A kind that is not listed here is open to every role
holding `jobs:run`; a listed kind is open only to its roles (the FMO runs every kind).
"""

from __future__ import annotations

from types import MappingProxyType

from gateway.messages.common import Role

_MARKET_ROLES = frozenset((Role.DSO, Role.TSO, Role.AGGREGATOR, Role.ESP, Role.RETAILER))

KIND_ROLES: MappingProxyType[str, frozenset[Role]] = MappingProxyType(
    {
        "echo": _MARKET_ROLES,
        "fmct-needs": frozenset((Role.DSO, Role.TSO)),
    }
)


def may_run(role: Role, kind: str) -> bool:
    if role is Role.FMO:
        return True
    allowed = KIND_ROLES.get(kind)
    return allowed is None or role in allowed

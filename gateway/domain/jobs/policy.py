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
        "forecast": _MARKET_ROLES,
        "fst-schedule": frozenset((Role.ESP,)),
        "fst-bidding": frozenset((Role.ESP,)),
        "fst-sizing": frozenset((Role.ESP,)),
        # AFAT (seed 3.5.2): aggregators (and ESPs, whose rights are alike) aggregate,
        # retailers (and aggregators) compare FlexContracts.
        "afat-aggregate": frozenset((Role.AGGREGATOR, Role.ESP)),
        "afat-pricing": frozenset((Role.RETAILER, Role.AGGREGATOR)),
        # Gate closure starts clearing jobs; only the market operator runs one by hand.
        "fmct-clear": frozenset(),
        # Market architecture runs are the market operator's studies (REST: /v1/market-architectures).
        "market-architecture": frozenset(),
        # A forwarding queues the DSO's check; the zone's DSO may re-run one by hand.
        "dso-forward-check": frozenset((Role.DSO,)),
    }
)


def may_run(role: Role, kind: str) -> bool:
    if role is Role.FMO:
        return True
    allowed = KIND_ROLES.get(kind)
    return allowed is None or role in allowed

"""The architectures' wholesale side on the wire: one period of the scenario as a
:class:`DayAheadAuction` (the transmission case's generators as step orders, the distribution
area's withdrawal at its coupling bus as an inelastic exchange) and the TLMP read back.

The auction asks for every bus's price (the settlement needs only the coupling bus's, the awards
carry each generator's); its dispatch per participant comes back as the result's awards.
"""

from __future__ import annotations

from engines.markets.scenario import Scenario
from gateway.messages.wholesale import (
    AreaWithdrawal,
    DayAheadAuction,
    DayAheadResult,
    WholesaleOrder,
)


def period_auction(
    scenario: Scenario,
    t: int,
    dso_import_mw: float,
    orders: list[WholesaleOrder],
    bus_ids: list[str],
) -> DayAheadAuction:
    """Period ``t`` as a one-period auction; the area withdraws ``dso_import_mw`` (negative:
    injects) at the scenario's coupling bus."""
    return DayAheadAuction(
        auction_id=f"arch-t{t}",
        network=scenario.network,
        delivery_start=scenario.start,
        periods=1,
        system_load_scaling=[scenario.system_scaling(t)],
        coupling_buses=bus_ids,
        orders=orders,
        area_withdrawals=[
            AreaWithdrawal(bus=scenario.coupling_bus, period_index=0, p_mw=dso_import_mw)
        ],
    )


def coupling_price(result: DayAheadResult, scenario: Scenario) -> float:
    """The TLMP: the wholesale price at the area's coupling bus (an optimal one-period result)."""
    return result.periods[0].coupling_prices_eur_per_mwh[scenario.coupling_bus]

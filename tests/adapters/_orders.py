"""Orders for the contract tests, built from the cases' published data (never from results)."""

from __future__ import annotations

from datetime import UTC, datetime

from engines.markets.dcgrid import load_case
from gateway.messages.wholesale import DayAheadAuction, WholesaleOrder

START = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


def sell(oid: str, bus: str, mw: float, price: float, periods: list[int] | None = None,
         block: bool = False) -> WholesaleOrder:  # fmt: skip
    return WholesaleOrder(
        id=oid, participant_id=f"p-{oid}", side="sell", bus=bus, quantity_mw=mw,
        price_eur_per_mwh=price, periods=periods or [0], block=block,
    )  # fmt: skip


def buy(
    oid: str, bus: str, mw: float, price: float, periods: list[int] | None = None
) -> WholesaleOrder:
    return WholesaleOrder(
        id=oid, participant_id=f"p-{oid}", side="buy", bus=bus, quantity_mw=mw,
        price_eur_per_mwh=price, periods=periods or [0],
    )  # fmt: skip


def case_generators_linear(case: str) -> list[WholesaleOrder]:
    """Every generator of the case offering its whole range at its linear cost coefficient."""
    net = load_case(case)
    costs = {(c.et, int(c.element)): float(c.cp1_eur_per_mw) for c in net.poly_cost.itertuples()}
    orders = []
    for element in ("ext_grid", "gen"):
        for idx, row in net[element].iterrows():
            orders.append(sell(f"{element}-{idx}", str(int(row.bus)), float(row.max_p_mw),
                               costs[(element, int(idx))]))  # fmt: skip
    return orders


def auction(orders: list[WholesaleOrder], **kw: object) -> DayAheadAuction:
    return DayAheadAuction(
        auction_id=str(kw.pop("auction_id", "da-1")),
        network=kw.pop("network", "case30"),  # type: ignore[arg-type]
        delivery_start=START,
        periods=int(kw.pop("periods", 1)),  # type: ignore[call-overload]
        orders=orders,
        **kw,  # type: ignore[arg-type]
    )

"""Offers and requests -> per-period flexibility variables (the bridge between schema and models).

Each offer contributes up to four variables per period (P up, P down, Q up, Q down), each request up to
two (P, Q). A variable x >= 0 injects ``sign * x`` at its bus and costs ``cost * x`` EUR/h (requests have
negative cost: their value). Variables carry their owner so results map back to orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engines.fmct.acopf import Flex
from engines.fmct.network import Grid
from engines.fmct.schema import ClearingOffer, ClearingRequest, Finding

OFFER_COMPONENTS = ("p_up", "p_down", "q_up", "q_down")
REQUEST_COMPONENTS = ("p", "q")


@dataclass(frozen=True)
class PeriodFlex:
    """Flex variables of one period with their owners (kind 0 = offer, 1 = request)."""

    flex: Flex
    owner_kind: np.ndarray
    owner: np.ndarray
    component: np.ndarray


def offer_items(o: ClearingOffer) -> list[tuple[int, bool, float, float, float]]:
    """(component, is_q, sign, volume, price) of an offer's non-empty components."""
    rows = [
        (0, False, 1.0, o.p_up_mw, o.price_p_up_eur_per_mwh),
        (1, False, -1.0, o.p_down_mw, o.price_p_down_eur_per_mwh),
        (2, True, 1.0, o.q_up_mvar, o.price_q_eur_per_mvarh),
        (3, True, -1.0, o.q_down_mvar, o.price_q_eur_per_mvarh),
    ]
    return [r for r in rows if r[3] > 0.0]


def request_items(r: ClearingRequest) -> list[tuple[int, bool, float, float, float]]:
    sign = -1.0 if r.direction == "up" else 1.0  # an "up" buyer takes power from the grid
    rows = [
        (0, False, sign, r.p_mw, -r.price_p_eur_per_mwh),
        (1, True, sign, r.q_mvar, -r.price_q_eur_per_mvarh),
    ]
    return [x for x in rows if x[3] > 0.0]


def validate(
    offers: Sequence[ClearingOffer],
    requests: Sequence[ClearingRequest],
    bus_index: dict[str, int],
) -> list[Finding]:
    """Named checks on orders; errors make the clearing return status "error"."""
    out: list[Finding] = []
    seen: set[str] = set()
    for kind, orders in (("offer", offers), ("request", requests)):
        for order in orders:
            if order.id in seen:
                out.append(
                    Finding(
                        code="duplicate_id",
                        severity="error",
                        element=order.id,
                        message=f"{kind} id used twice",
                    )
                )
            seen.add(order.id)
            if order.bus not in bus_index:
                out.append(
                    Finding(
                        code="unknown_bus",
                        severity="error",
                        element=order.id,
                        message=f"bus {order.bus!r} is not in the network",
                    )
                )
    for o in offers:
        directions = sum(v > 0 for v in (o.p_up_mw + o.q_up_mvar, o.p_down_mw + o.q_down_mvar))
        if o.block and directions > 1:
            out.append(
                Finding(
                    code="block_two_directions",
                    severity="error",
                    element=o.id,
                    message="a block offer must offer one direction only",
                )
            )
        if o.min_activation_mw > max(o.p_up_mw, o.p_down_mw):
            out.append(
                Finding(
                    code="min_above_max",
                    severity="error",
                    element=o.id,
                    message="min_activation_mw exceeds the offered volume",
                )
            )
    return out


@dataclass(frozen=True)
class OrderBook:
    """Every order component once, as arrays (volumes in MW), with the periods each row is offered in.

    Built once per clearing: selecting a period is then an index lookup instead of a scan of all
    orders (which cost seconds at 24 periods x 1,000 offers).
    """

    bus: np.ndarray
    is_q: np.ndarray
    sign: np.ndarray
    volume_mw: np.ndarray
    cost: np.ndarray
    kind: np.ndarray
    owner: np.ndarray
    component: np.ndarray
    rows_of_period: dict[int, np.ndarray]


def order_book(
    offers: Sequence[ClearingOffer],
    requests: Sequence[ClearingRequest],
    bus_index: dict[str, int],
) -> OrderBook:
    """Arrays of all orders; ``bus_index`` maps an order's bus key to the ppc bus row."""
    cols: list[tuple[int, bool, float, float, float, int, int, int]] = []
    by_period: dict[int, list[int]] = {}
    orders = [(0, i, o.bus, o.periods, offer_items(o)) for i, o in enumerate(offers)]
    orders += [(1, i, r.bus, r.periods, request_items(r)) for i, r in enumerate(requests)]
    for k, i, order_bus, periods, items in orders:
        b = bus_index[order_bus]
        first = len(cols)
        cols.extend((b, q, s, volume, price, k, i, c) for c, q, s, volume, price in items)
        rows = range(first, len(cols))
        for period in set(periods):
            by_period.setdefault(period, []).extend(rows)
    table = np.array(cols, dtype=float).reshape(-1, 8)
    return OrderBook(
        bus=table[:, 0].astype(np.int64),
        is_q=table[:, 1].astype(bool),
        sign=table[:, 2],
        volume_mw=table[:, 3],
        cost=table[:, 4],
        kind=table[:, 5].astype(np.int64),
        owner=table[:, 6].astype(np.int64),
        component=table[:, 7].astype(np.int64),
        rows_of_period={p: np.asarray(sorted(r), np.int64) for p, r in by_period.items()},
    )


def book_period_flex(book: OrderBook, period: int, base_mva: float) -> PeriodFlex:
    """Variables of ``period`` in the order of the orders (offers first, then requests)."""
    rows = book.rows_of_period.get(period, np.zeros(0, np.int64))
    flex = Flex(
        bus=book.bus[rows],
        is_q=book.is_q[rows],
        sign=book.sign[rows],
        ub=book.volume_mw[rows] / base_mva,
        cost=book.cost[rows],
    )
    return PeriodFlex(flex, book.kind[rows], book.owner[rows], book.component[rows])


def period_flex(
    grid: Grid,
    period: int,
    offers: Sequence[ClearingOffer],
    requests: Sequence[ClearingRequest],
    bus_index: dict[str, int],
) -> PeriodFlex:
    """Variables of ``period``; ``bus_index`` maps an order's bus key to the ppc bus row."""
    return book_period_flex(order_book(offers, requests, bus_index), period, grid.base_mva)


def without(pf: PeriodFlex, kind: int, owners: set[int]) -> PeriodFlex:
    """The same variables with the given owners' bounds set to zero (for VCG re-solves)."""
    mask = (pf.owner_kind == kind) & np.isin(pf.owner, list(owners))
    ub = np.where(mask, 0.0, pf.flex.ub)
    flex = Flex(pf.flex.bus, pf.flex.is_q, pf.flex.sign, ub, pf.flex.cost)
    return PeriodFlex(flex, pf.owner_kind, pf.owner, pf.component)

"""BalancingResult <-> ReserveAllocationResult_MarketDocument (IEC 62325-451-7, version 6.4).

The allocation result is what the TSO sends back for activated balancing energy (type A38): one
TimeSeries per activated bid, with the activated MW (Point/quantity) and the price paid for its
energy (Point/energy_Price.amount, here the direction's marginal, pay-as-cleared price), reason
B49 (balancing). An indivisible bid passed over in merit order is reported with quantity 0 and
reason B16, so `skipped_bids` survives the trip.

Derived on reading, exactly as the merit order computes them: energy (MW x hours), amounts
(received for up, paid for down), per period the activated and unsatisfied MW and the marginal
price, and the status. The needs per period are not in the document; the reader is given them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.balancing.iec62325 import codes
from adapters.balancing.iec62325.parties import DEFAULT_PARTIES, Parties
from adapters.balancing.iec62325.xmlio import (
    Node,
    Reader,
    Writer,
    created_text,
    decimal_text,
    duration_text,
    is_whole_minute,
    parse_document,
    period_start,
)
from adapters.balancing.merit_order import EPS_MW
from adapters.errors import MarketInputError
from gateway.messages.balancing import (
    Activation,
    BalancingPeriod,
    BalancingResult,
    ImbalanceNeed,
)
from gateway.messages.problems import FieldError

WHAT = "reserve allocation result document"


def allocation_result_document(
    result: BalancingResult,
    *,
    delivery_start: datetime,
    resolution_minutes: int,
    created: datetime,
    parties: Parties = DEFAULT_PARTIES,
) -> bytes:
    """The result as a ReserveAllocationResult_MarketDocument for the auction's time window."""
    errors = parties.check()
    if len(result.auction_id) > codes.MRID_MAX:
        errors.append(FieldError(location="$.auction_id", message=f"longer than {codes.MRID_MAX} characters (ID_String)"))  # fmt: skip
    if not is_whole_minute(delivery_start):
        errors.append(FieldError(location="delivery_start", message="ENTSO-E time intervals are minute-precise"))  # fmt: skip
    if errors:
        raise MarketInputError(errors, f"balancing result {result.auction_id} as a {WHAT}")
    indices = [p.period_index for p in result.periods] + [a.period_index for a in result.activations]  # fmt: skip
    end = period_start(delivery_start, resolution_minutes, max(indices, default=0) + 1)
    eic = codes.CODING_SCHEME_EIC
    w = Writer(codes.RESULT_NS, codes.RESULT_ROOT)
    doc = w.root
    w.add(doc, "mRID", result.auction_id)
    w.add(doc, "revisionNumber", "1")
    w.add(doc, "type", codes.TYPE_ALLOCATION_RESULT)
    w.add(doc, "process.processType", codes.PROCESS_BY_PRODUCT[result.product])
    w.add(doc, "sender_MarketParticipant.mRID", parties.tso_id, codingScheme=eic)
    w.add(doc, "sender_MarketParticipant.marketRole.type", codes.ROLE_SYSTEM_OPERATOR)
    w.add(doc, "receiver_MarketParticipant.mRID", parties.platform_id, codingScheme=eic)
    w.add(doc, "receiver_MarketParticipant.marketRole.type", codes.ROLE_BSP)
    w.add(doc, "createdDateTime", created_text(created))
    w.interval(doc, "reserveBid_Period.timeInterval", delivery_start, end)
    w.add(doc, "domain.mRID", parties.area_id, codingScheme=eic)
    window = _Window(w, result, parties, delivery_start, resolution_minutes)
    for act in result.activations:
        window.series(act.bid_id, act.bsp_id, act.direction, act.period_index, act.activated_mw, act.price_eur_per_mwh)  # fmt: skip
    for period in result.periods:
        direction = "up" if period.need_mw > 0 else "down"  # skipped bids face the need
        for bid_id in period.skipped_bids:
            window.series(bid_id, None, direction, period.period_index, 0.0, None)
    return w.tobytes()


@dataclass
class _Window:
    w: Writer
    result: BalancingResult
    parties: Parties
    start: datetime
    resolution_minutes: int

    def series(
        self, bid_id: str, bsp_id: str | None, direction: str, period_index: int,
        mw: float, price: float | None,
    ) -> None:  # fmt: skip
        w, eic = self.w, codes.CODING_SCHEME_EIC
        ts = w.add(w.root, "TimeSeries")
        w.add(ts, "mRID", bid_id)
        w.add(ts, "bid_Original_MarketDocument.mRID", self.result.auction_id)
        w.add(ts, "bid_Original_MarketDocument.bid_BidTimeSeries.mRID", bid_id)
        if bsp_id is not None:
            w.add(ts, "bid_Original_MarketDocument.tendering_MarketParticipant.mRID", bsp_id, codingScheme=eic)  # fmt: skip
        w.add(ts, "businessType", codes.BUSINESS_BY_PRODUCT[self.result.product])
        w.add(ts, "acquiring_Domain.mRID", self.parties.area_id, codingScheme=eic)
        w.add(ts, "connecting_Domain.mRID", self.parties.area_id, codingScheme=eic)
        w.add(ts, "quantity_Measurement_Unit.name", codes.UNIT_MW)
        w.add(ts, "currency_Unit.name", codes.CURRENCY)
        w.add(ts, "price_Measurement_Unit.name", codes.UNIT_MWH)
        w.add(ts, "flowDirection.direction", codes.DIRECTION_CODES[direction])
        period = w.add(ts, "Period")
        start = period_start(self.start, self.resolution_minutes, period_index)
        w.interval(period, "timeInterval", start, start + timedelta(minutes=self.resolution_minutes))  # fmt: skip
        w.add(period, "resolution", duration_text(self.resolution_minutes))
        point = w.add(period, "Point")
        w.add(point, "position", "1")
        w.add(point, "quantity", decimal_text(mw))
        if price is not None:
            w.add(point, "energy_Price.amount", decimal_text(price))
        reason = w.add(ts, "Reason")
        w.add(reason, "code", codes.REASON_BALANCING if mw > 0 else codes.REASON_PASSED_OVER)


@dataclass(frozen=True)
class _Series:
    """One TimeSeries: an activated bid (mw > 0) or one passed over (mw == 0, no price)."""

    bid_id: str
    bsp_id: str | None
    direction: str
    period_index: int
    hours: float
    mw: float
    price: float | None


def read_allocation_result_document(data: bytes, needs: list[ImbalanceNeed]) -> BalancingResult:
    """Read a ReserveAllocationResult_MarketDocument (6.4) of the auction with ``needs``."""
    root = parse_document(data, codes.RESULT_NS, codes.RESULT_ROOT, WHAT)
    r = Reader(codes.RESULT_NS)
    auction_id = r.text(root, "mRID", max_length=codes.MRID_MAX)
    r.code(root, "type", {codes.TYPE_ALLOCATION_RESULT})
    process = r.code(root, "process.processType", codes.PRODUCT_BY_PROCESS)
    window = r.interval(root, "reserveBid_Period.timeInterval")
    needed = {n.period_index for n in needs}
    read = [_read_series(r, ts, window, needed) for ts in r.children(root, "TimeSeries")]
    if r.errors or auction_id is None or process is None:  # None only with an error listed
        raise MarketInputError(r.errors, WHAT)
    series = [s for s in read if s is not None]
    taken: dict[int, list[_Series]] = defaultdict(list)
    skipped: dict[int, list[str]] = defaultdict(list)
    for s in series:
        if s.mw > 0:
            taken[s.period_index].append(s)
        else:
            skipped[s.period_index].append(s.bid_id)
    periods = [_period(n, taken[n.period_index], skipped[n.period_index]) for n in needs]
    short = any(p.unsatisfied_mw > EPS_MW for p in periods)
    return BalancingResult(
        auction_id=auction_id,
        product=codes.PRODUCT_BY_PROCESS[process],
        status="infeasible" if short else "optimal",
        periods=periods,
        activations=[_activation(s) for s in series if s.mw > 0],
    )


def _activation(s: _Series) -> Activation:
    # The merit order's arithmetic, in its order, so a result reads back equal to itself.
    price = s.price or 0.0
    sign = 1.0 if s.direction == "up" else -1.0
    return Activation(
        bid_id=s.bid_id,
        bsp_id=s.bsp_id or "",
        period_index=s.period_index,
        direction="up" if s.direction == "up" else "down",
        activated_mw=s.mw,
        price_eur_per_mwh=price,
        energy_mwh=s.mw * s.hours,
        amount_eur=sign * price * s.mw * s.hours,
    )


def _period(need: ImbalanceNeed, taken: list[_Series], skipped: list[str]) -> BalancingPeriod:
    left = abs(need.need_mw)
    for s in taken:
        left -= s.mw
    return BalancingPeriod(
        period_index=need.period_index,
        need_mw=need.need_mw,
        activated_mw=sum(s.mw for s in taken),
        unsatisfied_mw=max(left, 0.0) if need.need_mw else 0.0,
        marginal_price_eur_per_mwh=taken[-1].price if taken else None,
        skipped_bids=skipped,
    )


def _read_series(
    r: Reader, ts: Node, window: tuple[datetime, datetime] | None, needed: set[int]
) -> _Series | None:
    mrid = r.text(ts, "mRID", max_length=codes.MRID_MAX)
    original = r.text(ts, "bid_Original_MarketDocument.bid_BidTimeSeries.mRID", required=False, max_length=codes.MRID_MAX)  # fmt: skip
    bsp_where = "bid_Original_MarketDocument.tendering_MarketParticipant.mRID"
    bsp = r.text(ts, bsp_where, required=False, max_length=codes.PARTY_MAX)
    r.code(ts, "quantity_Measurement_Unit.name", {codes.UNIT_MW})
    r.code(ts, "currency_Unit.name", {codes.CURRENCY}, required=False)
    direction = r.code(ts, "flowDirection.direction", codes.DIRECTIONS)
    period = r.child(ts, "Period")
    if period is None:
        return None
    resolution = r.minutes(period, "resolution")
    point = r.child(period, "Point")
    index = r.time_unit(period, window, resolution) if resolution else None
    if index is not None and index not in needed:
        r.fail(f"{period.path}/timeInterval/start", f"period {index} has no imbalance need")
    if point is None:
        return None
    mw = r.number(point, "quantity")
    price = r.number(point, "energy_Price.amount", required=False)
    if mw is not None and mw < 0:
        r.fail(f"{point.path}/quantity", "an activated quantity is not negative")
    if mw and price is None:
        r.fail(f"{point.path}/energy_Price.amount", "an activated bid has a price")
    if mw and bsp is None:
        r.fail(f"{ts.path}/{bsp_where}", "an activated bid names its BSP")
    bid_id = original or mrid
    if bid_id is None or direction is None or index is None or mw is None or not resolution:
        return None  # each one missing was reported
    return _Series(bid_id, bsp, codes.DIRECTIONS[direction], index, resolution / 60.0, mw, price)

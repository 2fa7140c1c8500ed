"""BalancingAuction bids <-> ReserveBid_MarketDocument (IEC 62325-451-7, version 7.4).

One Bid_TimeSeries per bid, with one Period holding one Point (as MARI and PICASSO bids are:
a bid is one product for one market time unit). The mapping:

| BalancingAuction / BalancingBid | ReserveBid_MarketDocument |
|---|---|
| auction_id | mRID |
| product mFRR / aFRR | process.processType A47 / A51 |
| delivery_start | reserveBid_Period.timeInterval/start |
| resolution_minutes | Bid_TimeSeries/Period/resolution (PT15M) |
| id | Bid_TimeSeries/mRID |
| bsp_id | Bid_TimeSeries/provider_MarketParticipant.mRID (else subject_MarketParticipant.mRID) |
| location | Bid_TimeSeries/connecting_Domain.mRID |
| direction up / down | Bid_TimeSeries/flowDirection.direction A01 / A02 |
| period_index | Bid_TimeSeries/Period/timeInterval, counted from the document's start |
| quantity_mw | Period/Point/quantity.quantity (quantity_Measurement_Unit.name MAW) |
| min_quantity_mw | divisible A02: the quantity; A01: Point/minimum_Quantity.quantity (else 0) |
| price_eur_per_mwh | Period/Point/energy_Price.amount (currency EUR, energyPrice unit MWH) |

The imbalance needs are not part of a bid document: they travel beside it (see headers.py).
A document without bids has its resolution only in its interval, which spans the needed periods
(as written here); if that does not divide evenly, the standard 15-minute MTU is assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from adapters.balancing.iec62325 import codes
from adapters.balancing.iec62325.headers import NEED_LOCATION
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
from adapters.errors import MarketInputError
from gateway.messages.balancing import BalancingAuction, BalancingBid, ImbalanceNeed
from gateway.messages.problems import FieldError
from gateway.messaging.replies import validation_errors

WHAT = "reserve bid document"
DEFAULT_RESOLUTION_MINUTES = 15


def _check_ids(auction: BalancingAuction, parties: Parties) -> list[FieldError]:
    """The schema's identifier lengths and minute-precise times, before writing anything."""
    errors = parties.check()
    if len(auction.auction_id) > codes.MRID_MAX:
        errors.append(FieldError(location="$.auction_id", message=f"longer than {codes.MRID_MAX} characters (ID_String)"))  # fmt: skip
    if not is_whole_minute(auction.delivery_start):
        errors.append(FieldError(location="$.delivery_start", message="ENTSO-E time intervals are minute-precise"))  # fmt: skip
    limits = (("id", codes.MRID_MAX), ("bsp_id", codes.PARTY_MAX), ("location", codes.AREA_MAX))
    for i, bid in enumerate(auction.bids):
        for name, limit in limits:
            if len(getattr(bid, name)) > limit:
                errors.append(FieldError(location=f"$.bids[{i}].{name}", message=f"longer than {limit} characters, the schema's limit for this element"))  # fmt: skip
    return errors


def reserve_bid_document(
    auction: BalancingAuction, *, created: datetime, parties: Parties = DEFAULT_PARTIES
) -> bytes:
    """The auction's bids as a ReserveBid_MarketDocument; raises MarketInputError (with JSON
    locations) if an identifier does not fit the schema."""
    errors = _check_ids(auction, parties)
    if errors:
        raise MarketInputError(errors, f"balancing auction {auction.auction_id} as a {WHAT}")
    res = auction.resolution_minutes
    last = max([n.period_index for n in auction.needs] + [b.period_index for b in auction.bids])
    bsps = {bid.bsp_id for bid in auction.bids}
    w = Writer(codes.BID_NS, codes.BID_ROOT)
    doc = w.root
    w.add(doc, "mRID", auction.auction_id)
    w.add(doc, "revisionNumber", "1")
    w.add(doc, "type", codes.TYPE_RESERVE_BID)
    w.add(doc, "process.processType", codes.PROCESS_BY_PRODUCT[auction.product])
    w.add(doc, "sender_MarketParticipant.mRID", parties.platform_id, codingScheme=codes.CODING_SCHEME_EIC)  # fmt: skip
    w.add(doc, "sender_MarketParticipant.marketRole.type", codes.ROLE_BSP)
    w.add(doc, "receiver_MarketParticipant.mRID", parties.tso_id, codingScheme=codes.CODING_SCHEME_EIC)  # fmt: skip
    w.add(doc, "receiver_MarketParticipant.marketRole.type", codes.ROLE_RESERVE_ALLOCATOR)
    w.add(doc, "createdDateTime", created_text(created))
    w.interval(doc, "reserveBid_Period.timeInterval", auction.delivery_start, period_start(auction.delivery_start, res, last + 1))  # fmt: skip
    w.add(doc, "domain.mRID", parties.area_id, codingScheme=codes.CODING_SCHEME_EIC)
    if len(bsps) == 1:  # one BSP responsible for every bid: the document's subject
        w.add(doc, "subject_MarketParticipant.mRID", next(iter(bsps)), codingScheme=codes.CODING_SCHEME_EIC)  # fmt: skip
        w.add(doc, "subject_MarketParticipant.marketRole.type", codes.ROLE_BSP)
    for bid in auction.bids:
        _write_bid(w, doc, bid, auction, parties)
    return w.tobytes()


def _write_bid(
    w: Writer, doc: Any, bid: BalancingBid, auction: BalancingAuction, parties: Parties
) -> None:
    eic = codes.CODING_SCHEME_EIC
    indivisible = bid.min_quantity_mw >= bid.quantity_mw
    ts = w.add(doc, "Bid_TimeSeries")
    w.add(ts, "mRID", bid.id)
    w.add(ts, "businessType", codes.BUSINESS_OFFER)
    w.add(ts, "acquiring_Domain.mRID", parties.area_id, codingScheme=eic)
    w.add(ts, "connecting_Domain.mRID", bid.location, codingScheme=eic)
    w.add(ts, "provider_MarketParticipant.mRID", bid.bsp_id, codingScheme=eic)
    w.add(ts, "quantity_Measurement_Unit.name", codes.UNIT_MW)
    w.add(ts, "currency_Unit.name", codes.CURRENCY)
    w.add(ts, "divisible", codes.INDIVISIBLE if indivisible else codes.DIVISIBLE)
    w.add(ts, "flowDirection.direction", codes.DIRECTION_CODES[bid.direction])
    w.add(ts, "energyPrice_Measurement_Unit.name", codes.UNIT_MWH)
    w.add(ts, "standard_MarketProduct.marketProductType", codes.PRODUCT_TYPE_BY_PRODUCT[auction.product])  # fmt: skip
    period = w.add(ts, "Period")
    start = period_start(auction.delivery_start, auction.resolution_minutes, bid.period_index)
    w.interval(period, "timeInterval", start, start + timedelta(minutes=auction.resolution_minutes))  # fmt: skip
    w.add(period, "resolution", duration_text(auction.resolution_minutes))
    point = w.add(period, "Point")
    w.add(point, "position", "1")
    w.add(point, "quantity.quantity", decimal_text(bid.quantity_mw))
    if not indivisible:  # the guides forbid a minimum on an indivisible bid
        w.add(point, "minimum_Quantity.quantity", decimal_text(bid.min_quantity_mw))
    w.add(point, "energy_Price.amount", decimal_text(bid.price_eur_per_mwh))


@dataclass(frozen=True)
class ReadAuction:
    """An auction read from a document, and where in the document each of its fields was."""

    auction: BalancingAuction
    locations: dict[str, str]

    def relocate(self, error: MarketInputError) -> MarketInputError:
        """The same errors (from the market's own checks), located in the document."""
        moved = [FieldError(location=_where(self.locations, e.location), message=e.message) for e in error.errors]  # fmt: skip
        return MarketInputError(moved, f"{WHAT} {self.auction.auction_id}")


def _where(locations: dict[str, str], location: str) -> str:
    """The document location of a JSON location (`$.bids[2].quantity_mw`), else itself."""
    if location.startswith("$.needs"):
        return f"{NEED_LOCATION} ${location[len('$.needs') :]}"
    for key in (location, location.rsplit(".", 1)[0]):
        if key in locations:
            return locations[key]
    return location


def read_reserve_bid_document(data: bytes, needs: list[ImbalanceNeed]) -> ReadAuction:
    """Read a ReserveBid_MarketDocument (7.4) into an auction against ``needs``; every
    problem is a MarketInputError naming the element."""
    root = parse_document(data, codes.BID_NS, codes.BID_ROOT, WHAT)
    r = Reader(codes.BID_NS)
    p = root.path
    auction_id = r.text(root, "mRID", max_length=codes.MRID_MAX)
    r.code(root, "type", {codes.TYPE_RESERVE_BID})
    process = r.code(root, "process.processType", codes.PRODUCT_BY_PROCESS)
    for name in ("sender_MarketParticipant.mRID", "receiver_MarketParticipant.mRID"):
        r.text(root, name, max_length=codes.PARTY_MAX)
    r.text(root, "domain.mRID", max_length=codes.AREA_MAX)
    window = r.interval(root, "reserveBid_Period.timeInterval")
    subject = r.text(root, "subject_MarketParticipant.mRID", required=False, max_length=codes.PARTY_MAX)  # fmt: skip
    locations = {
        "$.auction_id": f"{p}/mRID",
        "$.product": f"{p}/process.processType",
        "$.delivery_start": f"{p}/reserveBid_Period.timeInterval/start",
        "$.bids": p,
    }
    series = r.children(root, "Bid_TimeSeries")
    resolutions = [_resolution(r, ts) for ts in series]
    known = {m for m in resolutions if m is not None}
    if len(known) > 1:
        r.fail(p, f"bids have different resolutions {sorted(known)} (minutes); one is allowed")
    resolution = known.pop() if len(known) == 1 else _bidless_resolution(window, needs)
    if series:
        locations["$.resolution_minutes"] = f"{series[0].path}/Period/resolution"
    bids = [
        _read_bid(r, ts, i, window, resolution, subject, locations) for i, ts in enumerate(series)
    ]
    if r.errors or window is None or process is None:  # both None only with an error listed
        raise MarketInputError(r.errors, WHAT)
    raw = {
        "auction_id": auction_id,
        "product": codes.PRODUCT_BY_PROCESS[process],
        "delivery_start": window[0],
        "resolution_minutes": resolution,
        "needs": msgspec.to_builtins(needs),
        "bids": bids,
    }
    try:
        auction = msgspec.convert(raw, BalancingAuction)
    except msgspec.ValidationError as exc:
        moved = [FieldError(location=_where(locations, e.location), message=e.message) for e in validation_errors(exc)]  # fmt: skip
        raise MarketInputError(moved, WHAT) from None
    return ReadAuction(auction, locations)


def _bidless_resolution(
    window: tuple[datetime, datetime] | None, needs: list[ImbalanceNeed]
) -> int:
    """Without bids, the document's interval spans the needed periods (as written here); a
    span that does not divide into 1-60 minute periods means the standard 15-minute MTU."""
    if window is None or not needs:
        return DEFAULT_RESOLUTION_MINUTES
    minutes = (window[1] - window[0]) / timedelta(minutes=1)
    step = minutes / (max(n.period_index for n in needs) + 1)
    if not step.is_integer() or not 1 <= step <= 60:
        return DEFAULT_RESOLUTION_MINUTES
    return int(step)


def _resolution(r: Reader, ts: Node) -> int | None:
    """A bid's resolution; a missing or repeated Period is reported by _read_period."""
    found = ts.element.findall(f"{{{r.namespace}}}Period")
    return r.minutes(Node(found[0], f"{ts.path}/Period"), "resolution") if len(found) == 1 else None


def _read_bid(
    r: Reader,
    ts: Node,
    i: int,
    window: tuple[datetime, datetime] | None,
    resolution: int,
    subject: str | None,
    locations: dict[str, str],
) -> dict[str, Any]:
    """One Bid_TimeSeries as the fields of a BalancingBid (validated later, all at once)."""
    bid_id = r.text(ts, "mRID", max_length=codes.MRID_MAX)
    r.code(ts, "businessType", {codes.BUSINESS_OFFER})
    location = r.text(ts, "connecting_Domain.mRID", max_length=codes.AREA_MAX)
    provider = r.text(ts, "provider_MarketParticipant.mRID", required=False, max_length=codes.PARTY_MAX)  # fmt: skip
    if provider is None and subject is None:
        r.fail(f"{ts.path}/provider_MarketParticipant.mRID", "no BSP: neither provider_MarketParticipant.mRID nor the document's subject_MarketParticipant.mRID")  # fmt: skip
    r.code(ts, "quantity_Measurement_Unit.name", {codes.UNIT_MW})
    r.code(ts, "currency_Unit.name", {codes.CURRENCY}, required=False)
    r.code(ts, "energyPrice_Measurement_Unit.name", {codes.UNIT_MWH}, required=False)
    r.code(ts, "standard_MarketProduct.marketProductType", codes.STANDARD_PRODUCTS, required=False)  # fmt: skip
    divisible = r.code(ts, "divisible", {codes.DIVISIBLE, codes.INDIVISIBLE})
    direction = r.code(ts, "flowDirection.direction", codes.DIRECTIONS)
    point, period_index = _read_period(r, ts, window, resolution)
    quantity = minimum = price = None
    if point is not None:
        r.code(point, "position", {"1"})
        quantity = r.number(point, "quantity.quantity")
        minimum = r.number(point, "minimum_Quantity.quantity", required=False)
        price = r.number(point, "energy_Price.amount")
        if divisible == codes.INDIVISIBLE and minimum is not None and minimum != quantity:
            r.fail(f"{point.path}/minimum_Quantity.quantity", "an indivisible bid (divisible A02) has no other minimum than its quantity")  # fmt: skip
    pp = f"{ts.path}/Period/Point"
    locations |= {
        f"$.bids[{i}]": ts.path,
        f"$.bids[{i}].id": f"{ts.path}/mRID",
        f"$.bids[{i}].bsp_id": f"{ts.path}/provider_MarketParticipant.mRID",
        f"$.bids[{i}].direction": f"{ts.path}/flowDirection.direction",
        f"$.bids[{i}].period_index": f"{ts.path}/Period/timeInterval/start",
        f"$.bids[{i}].quantity_mw": f"{pp}/quantity.quantity",
        f"$.bids[{i}].min_quantity_mw": f"{pp}/minimum_Quantity.quantity",
        f"$.bids[{i}].price_eur_per_mwh": f"{pp}/energy_Price.amount",
        f"$.bids[{i}].location": f"{ts.path}/connecting_Domain.mRID",
    }
    return {
        "id": bid_id,
        "bsp_id": provider or subject,
        "direction": codes.DIRECTIONS.get(direction or ""),
        "period_index": period_index,
        "quantity_mw": quantity,
        "min_quantity_mw": quantity if divisible == codes.INDIVISIBLE else (minimum or 0.0),
        "price_eur_per_mwh": price,
        "location": location,
    }


def _read_period(
    r: Reader, ts: Node, window: tuple[datetime, datetime] | None, resolution: int
) -> tuple[Node | None, int | None]:
    """The one Period of a bid, its one Point, and the index of its market time unit."""
    period = r.child(ts, "Period")
    if period is None:
        return None, None
    return r.child(period, "Point"), r.time_unit(period, window, resolution)

"""ENTSO-E balancing documents (IEC 62325-451-7): round trips, a hand-written sample, bad input.

The hand-written sample is in tests/adapters/_iec_samples.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.balancing.emulator import activate_checked
from adapters.balancing.iec62325.bids import read_reserve_bid_document, reserve_bid_document
from adapters.balancing.iec62325.headers import document_headers, read_needs
from adapters.balancing.iec62325.results import (
    allocation_result_document,
    read_allocation_result_document,
)
from adapters.errors import MarketInputError
from gateway.messages.balancing import BalancingAuction, BalancingBid, ImbalanceNeed
from tests.adapters._iec_samples import SAMPLE, SAMPLE_NEEDS

pytestmark = pytest.mark.unit

CREATED = datetime(2026, 3, 2, 12, 31, 7, tzinfo=UTC)
ROOT = "/ReserveBid_MarketDocument"


def test_sample_document_parses_to_the_expected_bids() -> None:
    auction = read_reserve_bid_document(SAMPLE, SAMPLE_NEEDS).auction
    assert auction.auction_id == "32e6eff4-9262-4f6b-a954-5f9d08a37a9b"
    assert auction.product == "mFRR"
    assert auction.delivery_start == datetime(2025, 4, 8, 14, 0, tzinfo=UTC)
    assert auction.resolution_minutes == 15
    assert auction.needs == SAMPLE_NEEDS
    assert auction.bids == [
        BalancingBid(id="8651c1fa-8e84-4e83-a25b-59b0e17ae260", bsp_id="44X-BSP-NORTH-1",
                     direction="down", period_index=0, quantity_mw=12.0, min_quantity_mw=0.0,
                     price_eur_per_mwh=-12.0, location="10YFI-1--------U"),
        BalancingBid(id="up-1415-a", bsp_id="44X-BSP-SOUTH-2", direction="up", period_index=1,
                     quantity_mw=7.5, min_quantity_mw=7.5, price_eur_per_mwh=83.25,
                     location="10YFI-1--------U"),
        BalancingBid(id="up-1445-b", bsp_id="44X-BSP-NORTH-1", direction="up", period_index=3,
                     quantity_mw=30.0, min_quantity_mw=5.0, price_eur_per_mwh=91.0,
                     location="DSO-north:bus-12"),
    ]  # fmt: skip


def test_sample_activations_read_back_from_the_result_document() -> None:
    auction = read_reserve_bid_document(SAMPLE, SAMPLE_NEEDS).auction
    result = activate_checked(auction)
    document = allocation_result_document(
        result, delivery_start=auction.delivery_start, resolution_minutes=15, created=CREATED
    )
    assert b'xmlns="urn:iec62325.351:tc57wg16:451-7:reserveallocationresultdocument:6:4"' in document  # fmt: skip
    assert b"<start>2025-04-08T14:45Z</start>" in document  # period 3 of the sample
    back = read_allocation_result_document(document, SAMPLE_NEEDS)
    assert back == result
    # down 10 of 12 MW at -12 (the BSP pays), up 7.5 of an indivisible 7.5 (5 needed: the
    # indivisible bid does not fit, so nothing), up 20 of 30 at 91
    assert {a.bid_id: a.activated_mw for a in back.activations} == {
        "8651c1fa-8e84-4e83-a25b-59b0e17ae260": 10.0, "up-1445-b": 20.0
    }  # fmt: skip
    assert back.periods[1].skipped_bids == ["up-1415-a"]
    assert back.status == "infeasible"


ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,11}", fullmatch=True)
mw = st.floats(min_value=0.001, max_value=10_000.0, allow_nan=False)
price = st.floats(min_value=-100_000.0, max_value=100_000.0, allow_nan=False)


@st.composite
def auctions(draw: st.DrawFn) -> BalancingAuction:
    periods = draw(st.lists(st.integers(0, 95), min_size=1, max_size=4, unique=True))
    needs = [ImbalanceNeed(period_index=p, need_mw=draw(st.floats(-10_000.0, 10_000.0))) for p in periods]  # fmt: skip
    bid_ids = draw(st.lists(ids, max_size=8, unique=True))
    bids = []
    for bid_id in bid_ids:
        quantity = draw(mw)
        minimum = draw(st.sampled_from([0.0, quantity, quantity * draw(st.floats(0.0, 1.0))]))
        bids.append(BalancingBid(
            id=bid_id, bsp_id=draw(ids), direction=draw(st.sampled_from(["up", "down"])),
            period_index=draw(st.sampled_from(periods)), quantity_mw=quantity,
            min_quantity_mw=minimum, price_eur_per_mwh=draw(price), location=draw(ids),
        ))  # fmt: skip
    start = datetime(2026, 3, 2, 23, 0, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 10**6)))  # fmt: skip
    return BalancingAuction(
        auction_id=draw(ids), product=draw(st.sampled_from(["mFRR", "aFRR"])),
        delivery_start=start, resolution_minutes=draw(st.sampled_from([1, 5, 15, 30, 60])),
        needs=needs, bids=bids,
    )  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(auctions())
def test_auction_round_trips_through_the_reserve_bid_document(auction: BalancingAuction) -> None:
    document = reserve_bid_document(auction, created=CREATED)
    assert read_reserve_bid_document(document, auction.needs).auction == auction


@settings(max_examples=60, deadline=None)
@given(auctions())
def test_result_round_trips_through_the_allocation_result_document(
    auction: BalancingAuction,
) -> None:
    result = activate_checked(auction)
    document = allocation_result_document(
        result,
        delivery_start=auction.delivery_start,
        resolution_minutes=auction.resolution_minutes,
        created=CREATED,
    )
    assert read_allocation_result_document(document, auction.needs) == result


def test_needs_round_trip_through_the_header() -> None:
    assert read_needs(document_headers(SAMPLE_NEEDS)) == SAMPLE_NEEDS


def _broken(old: bytes, new: bytes, count: int = 1) -> bytes:
    assert old in SAMPLE
    return SAMPLE.replace(old, new, count)


TS1 = f"{ROOT}/Bid_TimeSeries[1]"
TS2 = f"{ROOT}/Bid_TimeSeries[2]"
MALFORMED = {
    "missing element": (
        _broken(b"<quantity.quantity>12</quantity.quantity>", b""),
        f"{TS1}/Period/Point/quantity.quantity", "missing element",
    ),
    "bad direction code": (
        _broken(b"<flowDirection.direction>A02<", b"<flowDirection.direction>A03<"),
        f"{TS1}/flowDirection.direction", "'A03'",
    ),
    "bad number": (
        _broken(b"<quantity.quantity>7.5<", b"<quantity.quantity>7,5<"),
        f"{TS2}/Period/Point/quantity.quantity", "not a decimal",
    ),
    "unit not MW": (
        _broken(b"<quantity_Measurement_Unit.name>MAW<", b"<quantity_Measurement_Unit.name>KWT<"),
        f"{TS1}/quantity_Measurement_Unit.name", "'KWT'",
    ),
    "quantity above the market's limit": (
        _broken(b"<quantity.quantity>30<", b"<quantity.quantity>20000<"),
        f"{ROOT}/Bid_TimeSeries[3]/Period/Point/quantity.quantity", "<= 10000",
    ),
    "period outside the document": (
        _broken(b"<start>2025-04-08T14:45Z</start><end>2025-04-08T15:00Z</end>",
                b"<start>2025-04-08T15:00Z</start><end>2025-04-08T15:15Z</end>"),
        f"{ROOT}/Bid_TimeSeries[3]/Period/timeInterval/start", "inside",
    ),
    "bad time": (
        _broken(b"<start>2025-04-08T14:00Z</start>\n    <end>", b"<start>2025-04-08 14:00</start>\n    <end>"),
        f"{ROOT}/reserveBid_Period.timeInterval/start", "not a UTC time",
    ),
    "not a specific product": (
        _broken(b"marketProductType>A07<", b"marketProductType>A02<"),
        f"{TS1}/standard_MarketProduct.marketProductType", "'A02'",
    ),
    "two periods in one bid": (
        _broken(b"</Period>\n  </Bid_TimeSeries>", b"</Period><Period/>\n  </Bid_TimeSeries>"),
        f"{TS1}/Period", "2 times",
    ),
    "not well-formed": (SAMPLE[:-40], "/", "not well-formed"),
    "another document version": (
        _broken(b"reservebiddocument:7:4", b"reservebiddocument:7:1"), "/", "namespace"
    ),
    "a DTD": (
        _broken(b"<ReserveBid_MarketDocument ", b'<!DOCTYPE x [<!ENTITY e "e">]><ReserveBid_MarketDocument '),
        "/", "DTD",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("document", "location", "message"), MALFORMED.values(), ids=MALFORMED)
def test_malformed_document_names_the_element(document: bytes, location: str, message: str) -> None:
    with pytest.raises(MarketInputError) as caught:
        read_reserve_bid_document(document, SAMPLE_NEEDS)
    assert [e.location for e in caught.value.errors] == [location]
    assert message in caught.value.errors[0].message
    assert caught.value.problem.status == 422


def test_every_broken_element_is_reported_at_once() -> None:
    document = SAMPLE.replace(b"<businessType>B74<", b"<businessType>A97<").replace(
        b"<energy_Price.amount>91<", b"<energy_Price.amount>ninety-one<"
    )
    with pytest.raises(MarketInputError) as caught:
        read_reserve_bid_document(document, SAMPLE_NEEDS)
    assert [e.location for e in caught.value.errors] == [
        f"{TS1}/businessType", f"{TS2}/businessType", f"{ROOT}/Bid_TimeSeries[3]/businessType",
        f"{ROOT}/Bid_TimeSeries[3]/Period/Point/energy_Price.amount",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "location"),
    [
        ({}, "header Flexgrid-Imbalance-Need"),
        ({"Flexgrid-Imbalance-Need": "[{"}, "header Flexgrid-Imbalance-Need"),
        ({"Flexgrid-Imbalance-Need": '[{"period_index": 0, "need_mw": "x"}]'},
         "header Flexgrid-Imbalance-Need $[0].need_mw"),
    ],
)  # fmt: skip
def test_bad_need_header_is_located(header: dict[str, str], location: str) -> None:
    with pytest.raises(MarketInputError) as caught:
        read_needs(header)
    assert [e.location for e in caught.value.errors] == [location]


def test_empty_needs_are_refused_at_the_header() -> None:
    with pytest.raises(MarketInputError) as caught:
        read_reserve_bid_document(SAMPLE, [])
    assert [e.location for e in caught.value.errors] == ["header Flexgrid-Imbalance-Need $"]


def test_identifiers_too_long_for_the_schema_are_refused_when_writing() -> None:
    auction = read_reserve_bid_document(SAMPLE, SAMPLE_NEEDS).auction
    bids = [BalancingBid(id="b1", bsp_id="a-bsp-id-longer-than-16", direction="up",
                         period_index=1, quantity_mw=1.0, price_eur_per_mwh=1.0, location="x")]  # fmt: skip
    long = BalancingAuction(
        auction_id=auction.auction_id, product="aFRR", delivery_start=auction.delivery_start,
        needs=SAMPLE_NEEDS, bids=bids,
    )  # fmt: skip
    with pytest.raises(MarketInputError) as caught:
        reserve_bid_document(long, created=CREATED)
    assert [e.location for e in caught.value.errors] == ["$.bids[0].bsp_id"]

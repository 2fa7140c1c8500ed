"""The balancing service's XML path (IEC 62325-451-7) against its JSON path, on a real nats-server.

Both requests go to `atp.v1.markets.balancing.activate`; the XML one carries the reserve bid
document with the needs in a header and gets the allocation result document back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import nats
import pytest

from adapters.balancing.emulator import EmulatedBalancingMarket
from adapters.balancing.iec62325.bids import reserve_bid_document
from adapters.balancing.iec62325.results import read_allocation_result_document
from adapters.client import NatsBalancingMarket
from adapters.errors import MarketInputError
from adapters.service import serve_markets
from adapters.wholesale.emulator import EmulatedWholesaleMarket
from gateway.messages import subjects
from gateway.messages.balancing import BalancingAuction
from tests.adapters._iec_samples import SAMPLE, SAMPLE_NEEDS
from tests.adapters.test_balancing_contract import UP, auction, bid

pytestmark = pytest.mark.integration

CREATED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DOWN = [bid("H", "down", 20, 10, period=1), bid("I", "down", 20, 5, period=1),
        bid("J", "down", 20, -3, period=1)]  # fmt: skip
AUCTIONS = {
    "up in merit order": auction({0: 50.0}, UP),
    "indivisible passed over": auction({0: 35.0}, UP),
    "up and down periods": auction({0: 50.0, 1: -30.0}, UP + DOWN),
    "short market": auction({0: 100.0, 1: 0.0}, UP),
}


@pytest.fixture
async def tso(nats_url: str) -> AsyncIterator[NatsBalancingMarket]:
    server_side = await nats.connect(nats_url)
    client_side = await nats.connect(nats_url)
    service = await serve_markets(server_side, EmulatedWholesaleMarket(), EmulatedBalancingMarket())
    try:
        yield NatsBalancingMarket(client_side)
    finally:
        await service.stop()
        await client_side.close()
        await server_side.close()


@pytest.mark.parametrize("case", AUCTIONS.values(), ids=AUCTIONS)
async def test_xml_and_json_give_the_same_activations_and_price(
    tso: NatsBalancingMarket, case: BalancingAuction
) -> None:
    by_json = await tso.activate(case)
    document = await tso.activate_document(reserve_bid_document(case, created=CREATED), case.needs)
    assert document.startswith(b"<?xml")
    by_xml = read_allocation_result_document(document, case.needs)
    assert by_xml == by_json
    assert by_xml.activations  # every case activates something: the comparison is not empty


async def test_sample_document_is_activated(tso: NatsBalancingMarket) -> None:
    document = await tso.activate_document(SAMPLE, SAMPLE_NEEDS)
    result = read_allocation_result_document(document, SAMPLE_NEEDS)
    assert [(a.bid_id, a.activated_mw, a.price_eur_per_mwh) for a in result.activations] == [
        ("8651c1fa-8e84-4e83-a25b-59b0e17ae260", 10.0, -12.0), ("up-1445-b", 20.0, 91.0)
    ]  # fmt: skip


async def test_malformed_document_gets_a_problem_naming_the_element(
    tso: NatsBalancingMarket,
) -> None:
    broken = SAMPLE.replace(b"<divisible>A02<", b"<divisible>yes<")
    with pytest.raises(MarketInputError) as caught:
        await tso.activate_document(broken, SAMPLE_NEEDS)
    assert [e.location for e in caught.value.errors] == [
        "/ReserveBid_MarketDocument/Bid_TimeSeries[2]/divisible"
    ]
    assert caught.value.problem.status == 422


async def test_market_checks_are_located_in_the_document(tso: NatsBalancingMarket) -> None:
    # the emulator's own checks (a repeated bid id, a bid in a period without need) come back
    # with the elements of the document, not the JSON paths of the auction
    repeated = SAMPLE.replace(b"<mRID>up-1445-b<", b"<mRID>up-1415-a<")
    with pytest.raises(MarketInputError) as caught:
        await tso.activate_document(repeated, SAMPLE_NEEDS[:2])
    assert {e.location for e in caught.value.errors} == {
        "/ReserveBid_MarketDocument/Bid_TimeSeries[3]/mRID",
        "/ReserveBid_MarketDocument/Bid_TimeSeries[3]/Period/timeInterval/start",
    }


async def test_missing_need_header_is_named(tso: NatsBalancingMarket, nats_url: str) -> None:
    nc = await nats.connect(nats_url)  # a hand-made request: XML without the need header
    try:
        msg = await nc.request(
            subjects.BALANCING_ACTIVATE,
            SAMPLE,
            timeout=5,
            headers={"Content-Type": "application/xml"},
        )
    finally:
        await nc.close()
    assert msg.headers is not None
    assert msg.headers["Nats-Service-Error-Code"] == "422"
    assert b"header Flexgrid-Imbalance-Need" in msg.data

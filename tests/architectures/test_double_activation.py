"""No offer is activated twice, locally and by the TSO: a test that tries.

Per offer-period, three racers start at once: the DSO's local activation over REST (gateway A:
the app's connection pool), a second local activation over REST, and the TSO path (forward, then
activate at the TSO's price) on a second connection pool to the same database, as a second gateway
replica would run it. On both SQLite and PostgreSQL exactly one racer wins each offer-period; every
REST loser gets a 409 problem that names the state it lost to, the TSO loser an ActivationConflict.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from gateway.db.database import Database
from gateway.db.tables import offer_activation
from gateway.domain.forwarding import ledger
from gateway.messages.activations import ActivationState
from gateway.settings import Settings
from tests.architectures._session import OFFERS, PERIODS, book, clear
from tests.market import Market

pytestmark = pytest.mark.integration


def _tso_gateway(
    url: str,
    sid: str,
    owner: str,
    keys: list[tuple[str, int]],
    now: datetime,
    ready: threading.Event,
    go: threading.Event,
) -> list[ledger.ActivationConflict | None]:
    """A second gateway replica: its own thread, event loop and connection pool, running the
    forwarder's moves (forward, then activate at the TSO's price) for every offer-period at once."""

    async def one(database: Database, offer_id: str, t: int) -> ledger.ActivationConflict | None:
        await asyncio.sleep(random.random() * 0.1)
        base = dict(offer_id=offer_id, period_index=t, session_id=sid, submitter_id=owner,
                    direction="up", p_mw=0.2)  # fmt: skip
        try:
            async with database.begin() as conn:
                await ledger.apply(conn, ledger.Move(**base, to=ActivationState.FORWARDED), now)
                await ledger.apply(conn, ledger.Move(
                    **base, to=ActivationState.ACTIVATED_TSO, activated_mw=0.2,
                    price_eur_per_mwh=80.0, amount_eur=16.0), now)  # fmt: skip
        except ledger.ActivationConflict as exc:
            return exc
        return None

    async def main() -> list[ledger.ActivationConflict | None]:
        database = Database(url)
        async with database.connect() as conn:  # a running replica's pool is warm
            await conn.execute(select(offer_activation.c.state).limit(1))
        ready.set()
        await asyncio.to_thread(go.wait, 30)
        try:
            return list(await asyncio.gather(*(one(database, o, t) for o, t in keys)))
        finally:
            await database.dispose()

    return asyncio.run(main())


@pytest.mark.usefixtures("workers")
async def test_concurrent_local_and_tso_activations_activate_each_offer_period_once(
    market: Market, settings: Settings, db: Database
) -> None:
    sid, offers = await book(market)
    await clear(market, sid)
    async with db.connect() as conn:  # what the clearing dispatched is the local market's
        held = {
            (r[0], r[1])
            for r in await conn.execute(
                select(offer_activation.c.offer_id, offer_activation.c.period_index).where(
                    offer_activation.c.session_id == sid
                )
            )
        }
    keys = [(o, t) for o in offers for t in PERIODS if (o, t) not in held]
    assert len(keys) >= OFFERS * len(PERIODS) // 2, held
    rng = random.Random(7)

    async def local(offer_id: str, t: int) -> Any:
        await asyncio.sleep(rng.random() * 0.05)
        return await market.call("POST", f"/v1/flex-offers/{offer_id}/activations",
                                 market.keys["dso"],
                                 {"period_index": t, "direction": "up", "p_mw": 0.2})  # fmt: skip

    ready, go = threading.Event(), threading.Event()
    tso_side = asyncio.create_task(asyncio.to_thread(
        _tso_gateway, settings.database_url, sid, market.ids["agg"], keys, market.clock(),
        ready, go))  # fmt: skip
    assert await asyncio.to_thread(ready.wait, 30)
    go.set()  # both replicas start together
    locals_ = [local(o, t) for o, t in keys for _ in range(2)]  # two local racers per key
    rng.shuffle(locals_)
    rest = await asyncio.gather(*locals_)
    tso_results = await tso_side
    outcomes: list[tuple[str, Any]] = [("local", r) for r in rest] + [
        ("tso", r) for r in tso_results
    ]

    wins: Counter[tuple[str, int]] = Counter()
    local_wins = tso_wins = 0
    for who, r in outcomes:
        if who == "local":
            if r.status_code == 201:
                local_wins += 1
                wins[(r.json()["offer_id"], r.json()["period_index"])] += 1
            else:
                assert r.status_code == 409, r.text
                assert r.headers["content-type"].startswith("application/problem+json")
                detail = r.json()["detail"]
                assert "activated once per period" in detail
                assert any(s in detail for s in ("activated_local", "activated_tso", "forwarded"))
        elif r is None:
            tso_wins += 1
        else:
            assert isinstance(r, ledger.ActivationConflict)
            assert r.current in ("activated_local", "reserved_local")
    async with db.connect() as conn:
        rows = [r for r in (await conn.execute(select(
            offer_activation.c.offer_id, offer_activation.c.period_index, offer_activation.c.state,
        ).where(offer_activation.c.session_id == sid))).all() if (r[0], r[1]) not in held]  # fmt: skip
    # One row per offer-period, each activated once: by the local market or by the TSO.
    assert len(rows) == len({(r[0], r[1]) for r in rows}) == len(keys)
    assert {r[2] for r in rows} <= {"activated_local", "activated_tso"}
    assert local_wins + tso_wins == len(keys)
    assert all(n == 1 for n in wins.values())
    states = Counter(r[2] for r in rows)
    assert (states["activated_local"], states["activated_tso"]) == (local_wins, tso_wins)
    # Which side wins a key is timing (on a loaded machine one side can take them all); what
    # must hold is that both sides tried every key and each key was activated exactly once.
    assert sum(1 for who, _ in outcomes if who == "tso") == len(keys)
    assert sum(1 for who, _ in outcomes if who == "local") == 2 * len(keys)
    print(f"\nwon locally {local_wins}, by the TSO {tso_wins} of {len(keys)} offer-periods")


async def test_the_state_machine_refuses_every_second_activation(
    market: Market, db: Database
) -> None:
    sid, offers = await book(market)
    owner, now = market.ids["agg"], market.clock()
    offer = offers[0]

    async def move(to: ActivationState, t: int = 17, from_local: bool = False) -> str | None:
        try:
            async with db.begin() as conn:
                await ledger.apply(conn, ledger.Move(offer_id=offer, period_index=t, to=to,
                                   session_id=sid, submitter_id=owner, direction="up",
                                   p_mw=0.2, from_local_reservation=from_local), now)  # fmt: skip
        except ledger.ActivationConflict as exc:
            return exc.current
        return None

    s = ActivationState
    assert await move(s.ACTIVATED_TSO) == "available"  # only a forwarded offer
    assert await move(s.FORWARDED) is None
    assert await move(s.ACTIVATED_LOCAL) == "forwarded"
    assert await move(s.RESERVED_LOCAL) == "forwarded"
    assert await move(s.RELEASED) is None  # the TSO did not take it: back to the local market
    assert await move(s.RESERVED_LOCAL) is None
    assert await move(s.FORWARDED) == "reserved_local"
    assert await move(s.ACTIVATED_LOCAL) is None
    assert await move(s.ACTIVATED_LOCAL) == "activated_local"
    assert await move(s.RELEASED) == "activated_local"
    assert await move(s.FORWARDED, t=18) is None
    assert await move(s.ACTIVATED_TSO, t=18) is None
    assert await move(s.ACTIVATED_TSO, t=18) == "activated_tso"
    assert await move(s.ACTIVATED_LOCAL, t=18) == "activated_tso"
    # Only a forwarding that includes the local dispatch takes a local reservation, and only
    # from `reserved_local`.
    assert await move(s.FORWARDED, t=19, from_local=True) == "available"
    assert await move(s.RESERVED_LOCAL, t=19) is None
    assert await move(s.FORWARDED, t=19) == "reserved_local"
    assert await move(s.FORWARDED, t=19, from_local=True) is None
    assert await move(s.ACTIVATED_LOCAL, t=19) == "forwarded"
    assert await move(s.ACTIVATED_TSO, t=19) is None
    assert await move(s.FORWARDED, t=19, from_local=True) == "activated_tso"


@pytest.mark.usefixtures("workers")
async def test_a_withdrawn_offer_cannot_be_activated(market: Market, db: Database) -> None:
    sid, offers = await book(market)
    withdrawn, active = offers[0], offers[-1]  # the dearest: the clearing leaves it alone
    gone = await market.call("POST", f"/v1/flex-offers/{withdrawn}/withdraw", market.keys["agg"])
    assert gone.status_code == 200, gone.text
    await clear(market, sid)
    body = {"period_index": 18, "direction": "up", "p_mw": 0.2}
    refused = await market.call(
        "POST", f"/v1/flex-offers/{withdrawn}/activations", market.keys["dso"], body
    )
    assert refused.status_code == 409, refused.text
    assert "withdrawn" in refused.json()["detail"]
    accepted = await market.call(
        "POST", f"/v1/flex-offers/{active}/activations", market.keys["dso"], body
    )
    assert accepted.status_code == 201, accepted.text
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                select(offer_activation.c.offer_id).where(
                    offer_activation.c.offer_id.in_([withdrawn, active]),
                    offer_activation.c.period_index == 18,
                )
            )
        ).all()
    assert [r[0] for r in rows] == [active]  # nothing was recorded for the withdrawn offer

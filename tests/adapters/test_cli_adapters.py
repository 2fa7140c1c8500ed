"""`flexgrid adapters` as an operator starts it (FLEXGRID_ENGINES=external): a process of its own on
a real nats-server, answering both markets until SIGTERM, then exiting cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import nats
import nats.errors
import pytest
from nats.aio.client import Client

from adapters.balancing.emulator import EmulatedBalancingMarket
from adapters.client import NatsBalancingMarket, NatsWholesaleMarket
from adapters.wholesale.emulator import EmulatedWholesaleMarket
from gateway.messages import subjects
from gateway.messages.wholesale import DayAheadResult
from gateway.messaging.embedded import free_port
from tests.adapters._orders import auction, buy, case_generators_linear, sell
from tests.adapters.test_balancing_contract import UP
from tests.adapters.test_balancing_contract import auction as balancing_auction

pytestmark = pytest.mark.integration

FLEXGRID = str(Path(sys.executable).with_name("flexgrid"))
TEXTBOOK = auction(
    [sell("s1", "4", 10, 20), sell("s2", "4", 10, 30), sell("s3", "4", 10, 40),
     buy("b1", "4", 15, 35)],
    system_load_scaling=[0.0], coupling_buses=["4", "20"],
)  # fmt: skip


class Adapters:
    """The running command: its process, its ready line, and where its stderr goes."""

    def __init__(self, process: asyncio.subprocess.Process, ready: str, stderr: Path) -> None:
        self.process, self.ready, self._stderr = process, ready, stderr

    @property
    def log(self) -> str:
        return self._stderr.read_text()

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), 60)


@asynccontextmanager
async def adapters(nats_url: str, tmp_path: Path, *args: str) -> AsyncIterator[Adapters]:
    stderr = tmp_path / "adapters.stderr"
    with stderr.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            FLEXGRID, "adapters", *args,
            env={**os.environ, "FLEXGRID_NATS_URL": nats_url},
            stdout=asyncio.subprocess.PIPE, stderr=err,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.startswith(b"ready "), f"no ready line: {line!r}\n{stderr.read_text()}"
        yield Adapters(process, line.decode().strip(), stderr)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    try:
        yield client
    finally:
        await client.close()


def _served(ready: str) -> Sequence[str]:
    return ready.split()[2:]


def _untimed(result: DayAheadResult) -> DayAheadResult:
    """The clearing as the market decided it; how long the solver took differs run to run."""
    return msgspec.structs.replace(result, solve_time_s=0.0)


async def test_serves_both_markets_and_answers_in_flight_requests_after_sigterm(
    nats_url: str, tmp_path: Path, nc: Client
) -> None:
    async with adapters(nats_url, tmp_path) as served:
        assert _served(served.ready) == [
            f"wholesale={subjects.DAY_AHEAD_CLEAR}", f"balancing={subjects.BALANCING_ACTIVATE}"
        ]  # fmt: skip
        cleared = await NatsWholesaleMarket(nc).clear(TEXTBOOK)
        assert _untimed(cleared) == _untimed(await EmulatedWholesaleMarket().clear(TEXTBOOK))
        (period,) = cleared.periods
        assert period.coupling_prices_eur_per_mwh == pytest.approx({"4": 30.0, "20": 30.0})
        balancing = balancing_auction({0: 50.0}, UP)
        activated = await NatsBalancingMarket(nc).activate(balancing)
        assert activated == await EmulatedBalancingMarket().activate(balancing)
        assert {a.bid_id: a.activated_mw for a in activated.activations} == {
            "D": 10.0, "A": 20.0, "C": 20.0
        }  # fmt: skip

        # A request the server has delivered before the stop is answered, not dropped: the
        # flush makes the server route it ahead of anything the stop sends on that connection.
        congested = auction(case_generators_linear("case30"), system_load_scaling=[1.2, 1.1],
                            periods=2, coupling_buses=["1", "2"])  # fmt: skip
        inbox = nc.new_inbox()
        reply = await nc.subscribe(inbox, max_msgs=1)
        await nc.publish(subjects.DAY_AHEAD_CLEAR, msgspec.json.encode(congested), reply=inbox)
        await nc.flush()
        returncode = await served.stop()
        answer = await reply.next_msg(timeout=30)
        assert returncode == 0, served.log
        assert _untimed(msgspec.json.decode(answer.data, type=DayAheadResult)) == _untimed(
            await EmulatedWholesaleMarket().clear(congested)
        )
    with pytest.raises(nats.errors.NoRespondersError):  # gone, and nothing left behind
        await nc.request(subjects.BALANCING_ACTIVATE, b"{}", timeout=5)


async def test_only_balancing_leaves_the_day_ahead_subject_free(
    nats_url: str, tmp_path: Path, nc: Client
) -> None:
    async with adapters(nats_url, tmp_path, "--only", "balancing") as served:
        assert _served(served.ready) == [f"balancing={subjects.BALANCING_ACTIVATE}"]
        result = await NatsBalancingMarket(nc).activate(balancing_auction({0: 50.0}, UP))
        assert result.status == "optimal"
        with pytest.raises(nats.errors.NoRespondersError):
            await nc.request(subjects.DAY_AHEAD_CLEAR, msgspec.json.encode(TEXTBOOK), timeout=5)
        assert await served.stop(signal.SIGINT) == 0, served.log


async def test_a_stop_while_nats_is_unreachable_exits_cleanly() -> None:
    """NATS down at start: connecting retries for ever, yet SIGTERM still ends the process."""
    process = await asyncio.create_subprocess_exec(
        FLEXGRID, "adapters", "--nats-url", f"nats://127.0.0.1:{free_port()}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        # The first failed attempt is logged once the signal handlers are in place.
        async def first_failure() -> None:
            assert process.stderr is not None
            while b"NATS:" not in (line := await process.stderr.readline()):
                assert line, "exited without trying NATS"

        await asyncio.wait_for(first_failure(), 60)
        process.send_signal(signal.SIGTERM)
        stdout, _ = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0
        assert not stdout.startswith(b"ready")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

"""Orders over NATS, end to end: request/reply intake, stored, and published to JetStream.

A gateway process (`uvicorn gateway.asgi:app`, one worker, engines external) runs against a
nats-server started here and a fresh database (SQLite file or a PostgreSQL database created for
the run). A market is set up over REST; then one load-generator process sends FlexOffers by
NATS request/reply with the aggregators' API keys in a header, keeping `--window` messages in
flight: `--batch 100` (the default) puts 100 orders in each message on
`atp.v1.intake.flex-offers.batch`, `--batch 1` sends one order per request on
`atp.v1.intake.flex-offers` (use `--window 512` then). The figure is end to end: from the first request to
the moment the last order event is stored in the ATP_ORDERS stream (the relay published it after
the order's commit). Reply latency (request to stored-order reply) p50/p99 is printed too.

Every reply is checked (a stored order with an id, never a problem), and the stream must hold
exactly one event per order.

Target (issue 3): at least 3,000 orders/s over NATS on this machine.
Run: .venv/bin/python -m bench.nats_intake --backend both [--orders 20000] [--batch 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import nats

from bench.intake import (
    MarketSetup,
    cpu_seconds,
    free_port,
    fresh_database,
    machine_load,
    offer_body,
    percentile,
    set_up_market,
    start_server,
    stop_server,
)
from gateway.cli.bootstrap import bootstrap_fmo
from gateway.messages import subjects
from gateway.messaging.embedded import NatsServer
from gateway.settings import Settings

TARGET_RATE = 3000.0


@dataclass
class Outcome:
    orders: int
    ok: int
    failures: list[str]
    latencies_ms: list[float]
    started: float
    replied: float
    published: float

    @property
    def rate(self) -> float:
        return self.orders / (self.published - self.started)


async def _drive(
    nats_url: str, market: MarketSetup, orders: int, window: int, batch: int
) -> Outcome:
    nc = await nats.connect(nats_url, pending_size=256 * 1024 * 1024)
    js = nc.jetstream()
    before = (await js.stream_info(subjects.ORDERS_STREAM)).state.messages
    valid_until = (datetime.now(UTC) + timedelta(hours=5)).isoformat()
    bodies = [offer_body(market, i, valid_until) for i in range(orders)]
    keys = market.keys
    subject = subjects.intake("flex-offers")
    if batch > 1:  # many orders per message, on the batch subject
        subject = subjects.intake("flex-offers.batch")
        bodies = [
            b'{"items":['
            + b",".join(b'{"order":' + b + b"}" for b in bodies[i : i + batch])
            + b"]}"
            for i in range(0, len(bodies), batch)
        ]
    latencies: list[float] = []
    failures: list[str] = []
    ok = 0
    slots = asyncio.Semaphore(window)

    async def one(i: int) -> None:
        nonlocal ok
        try:
            sent = time.perf_counter()
            reply = await nc.request(
                subject, bodies[i], timeout=30, headers={"Flexgrid-Api-Key": keys[i % len(keys)]}
            )
            latencies.append((time.perf_counter() - sent) * 1000)
            if reply.headers and reply.headers.get("Nats-Service-Error-Code"):
                failures.append(reply.data.decode()[:200])
            elif batch > 1:
                answer = json.loads(reply.data)
                ok += answer["stored"]
                if answer["failed"]:
                    failures.append(f"{answer['failed']} items failed in a batch")
            elif b'"id"' in reply.data:
                ok += 1
            else:
                failures.append(reply.data.decode()[:200])
        except Exception as exc:
            failures.append(repr(exc))
        finally:
            slots.release()

    started = time.perf_counter()
    tasks = []
    for i in range(len(bodies)):
        await slots.acquire()
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    replied = time.perf_counter()
    deadline = replied + 120
    while time.perf_counter() < deadline:
        stored = (await js.stream_info(subjects.ORDERS_STREAM)).state.messages - before
        if stored >= ok:
            break
        await asyncio.sleep(0.005)
    published = time.perf_counter()
    if stored != ok:
        failures.append(f"stream holds {stored} new order events for {ok} stored orders")
    await nc.close()
    return Outcome(orders, ok, failures, sorted(latencies), started, replied, published)


def _client(
    nats_url: str, market: MarketSetup, orders: int, window: int, batch: int, out: Connection
) -> None:
    import uvloop

    uvloop.install()
    out.send(asyncio.run(_drive(nats_url, market, orders, window, batch)))


def run_backend(backend: str, args: argparse.Namespace) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="flexgrid-bench-") as tmp_name:
        tmp = Path(tmp_name)
        server_nats = NatsServer(store_dir=tmp / "nats")
        server_nats.start()
        os.environ["FLEXGRID_NATS_URL"] = server_nats.url
        try:
            with fresh_database(backend, tmp) as url:
                port = free_port()
                gateway = start_server(url, tmp, port, args)
                try:
                    _, fmo = asyncio.run(
                        bootstrap_fmo(Settings(database_url=url, data_dir=tmp), "bench FMO")
                    )
                    market = set_up_market(f"http://127.0.0.1:{port}", fmo.key, args.aggregators)
                    ctx = mp.get_context("spawn")
                    for run in range(args.runs):
                        parent, child = ctx.Pipe(duplex=False)
                        proc = ctx.Process(
                            target=_client,
                            args=(
                                server_nats.url,
                                market,
                                args.orders,
                                args.window,
                                args.batch,
                                child,
                            ),
                        )
                        cpu0 = cpu_seconds(gateway.pid)
                        proc.start()
                        child.close()
                        outcome: Outcome = parent.recv()
                        gateway_cpu_ms = (cpu_seconds(gateway.pid) - cpu0) * 1000 / args.orders
                        proc.join(30)
                        outcomes.append(outcome)
                        lat = outcome.latencies_ms
                        print(
                            f"  {backend:10} run {run + 1}: {outcome.rate:7.0f} orders/s end to end "
                            f"({outcome.orders / (outcome.replied - outcome.started):7.0f}/s "
                            f"replied), reply p50 {percentile(lat, 0.5):6.1f} ms, "
                            f"p99 {percentile(lat, 0.99):6.1f} ms, "
                            f"gateway CPU {gateway_cpu_ms:.2f} ms/order, "
                            f"ok {outcome.ok}/{outcome.orders}, failures {len(outcome.failures)}"
                            + (f" e.g. {outcome.failures[0]}" if outcome.failures else ""),
                            flush=True,
                        )
                finally:
                    stop_server(gateway)
        finally:
            os.environ.pop("FLEXGRID_NATS_URL", None)
            server_nats.stop()
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--orders", type=int, default=20_000, help="orders per run")
    parser.add_argument("--window", type=int, default=16, help="messages in flight")
    parser.add_argument(
        "--batch", type=int, default=100, help="orders per message (1: one order per request)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs; the median is quoted")
    parser.add_argument("--aggregators", type=int, default=8, help="submitting participants")
    parser.add_argument("--batch-max", type=int, default=0, help="FLEXGRID_INTAKE_BATCH_MAX")
    parser.add_argument("--loop", default="uvloop", help="uvicorn --loop")
    parser.add_argument("--http", default="httptools", help="uvicorn --http")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(
        f"orders over NATS, end to end, {args.batch} per message; "
        f"machine load {machine_load()} (1/5/15 min)"
    )
    passed = True
    for backend in backends:
        outcomes = run_backend(backend, args)
        rate = statistics.median(o.rate for o in outcomes)
        clean = all(not o.failures and o.ok == o.orders for o in outcomes)
        verdict = "PASS" if rate >= TARGET_RATE and clean else "MISS"
        passed &= verdict == "PASS"
        print(
            f"{backend}: median {rate:.0f} orders/s end to end over {len(outcomes)} runs of "
            f"{args.orders} (target >= {TARGET_RATE:.0f}/s): {verdict}"
            + ("" if clean else " (failures above)")
        )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())

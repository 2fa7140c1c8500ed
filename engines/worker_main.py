"""`python -m engines.worker_main --nats-url URL --kind fmct-needs`: one engine worker process.

Start as many as the load needs, on any machine that reaches NATS: they share one durable
consumer per kind. SIGTERM/SIGINT stop taking jobs and give running ones `--grace` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence

import nats

from engines.context import EngineContext, NatsEndpoint
from engines.registry import Registry
from engines.runner import EngineRunner


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="flexgrid worker", description=__doc__)
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222", help="comma-separated")
    parser.add_argument(
        "--kind", action="append", dest="kinds", help="engine kind to serve (repeat); default all"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="jobs of each kind at once")
    parser.add_argument("--max-attempts", type=int, default=3)
    parser.add_argument("--ack-wait", type=float, default=30.0, help="seconds")
    parser.add_argument("--retry-delay", type=float, default=1.0, help="seconds")
    parser.add_argument("--in-process", action="store_true", help="threads, not processes")
    parser.add_argument("--worker-id", default=None)
    parser.add_argument("--replicas", type=int, default=1, help="stream replicas")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds at shutdown")
    parser.add_argument(
        "--market-adapters",
        action="store_true",
        help="the market adapters are served on this NATS: engines ask them by default "
        "(a market-architecture job's wholesale market; otherwise its in-process emulator)",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    nc = await nats.connect(
        servers=args.nats_url.split(","),
        name="flexgrid-engine-worker",
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
    )
    runner = EngineRunner(
        nc,
        Registry.from_entry_points(args.kinds).with_context(
            EngineContext(
                nats=NatsEndpoint(servers=tuple(args.nats_url.split(","))),
                market_adapters=args.market_adapters,
            )
        ),
        args.kinds,
        max_attempts=args.max_attempts,
        ack_wait_s=args.ack_wait,
        retry_delay_s=args.retry_delay,
        concurrency=args.concurrency,
        in_process=args.in_process,
        worker_id=args.worker_id,
        stream_replicas=args.replicas,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runner.start()
    # A line on stdout that supervisors and tests can wait for.
    print(f"ready {runner.worker_id} {' '.join(runner.kinds)}", flush=True)
    await stop.wait()
    await runner.stop(grace_s=args.grace)
    with contextlib.suppress(Exception):
        await nc.drain()


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()

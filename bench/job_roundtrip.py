"""Job round trip: submit (JobRequest published to JetStream, as the gateway's outbox relay
does) to JobCompleted received on the job's event subject, for a trivial `echo` job.

One job at a time, so this is latency, not throughput. Three set-ups on one nats-server:
- in-process: an EngineRunner in this process running the engine in a thread (the embedded
  default);
- worker process: `python -m engines.worker_main`, engine in its spawned engine process (the
  scale-out default);
- worker process, thread: the same worker with `--in-process`.

Target (issue): p50 under 20 ms.
Run: .venv/bin/python -m bench.job_roundtrip [--jobs 500]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from engines.echo import EchoEngine
from engines.registry import Registry
from engines.runner import EngineRunner
from gateway.messages import subjects
from gateway.messages.events import JobCompleted, JobEvent, JobRequest
from gateway.messaging.embedded import NatsServer
from gateway.messaging.streams import ensure_streams

TARGET_P50_MS = 20.0
_EVENT = msgspec.json.Decoder(JobEvent)


async def measure(nc: Client, jobs: int, warmup: int) -> list[float]:
    js = nc.jetstream()
    waiting: dict[str, asyncio.Future[None]] = {}

    async def on_event(msg: Msg) -> None:
        event = _EVENT.decode(msg.data)
        if isinstance(event, JobCompleted) and event.job_id in waiting:
            waiting.pop(event.job_id).set_result(None)

    sub = await nc.subscribe(subjects.job_events("*"), cb=on_event)
    tag = f"{time.monotonic_ns():x}"
    samples: list[float] = []
    for i in range(warmup + jobs):
        job_id = f"bench-{tag}-{i}"
        request = JobRequest(
            job_id=job_id,
            kind="echo",
            owner_id="bench",
            submitted_at=datetime.now(UTC),
            input=msgspec.Raw(msgspec.json.encode({"text": f"job {i}"})),
        )
        done = waiting[job_id] = asyncio.get_running_loop().create_future()
        start = time.perf_counter()
        await js.publish(
            subjects.job_queue("echo"),
            msgspec.json.encode(request),
            headers={"Nats-Msg-Id": job_id},
        )
        await asyncio.wait_for(done, timeout=30)
        if i >= warmup:
            samples.append((time.perf_counter() - start) * 1000)
    await sub.unsubscribe()
    return samples


@contextlib.asynccontextmanager
async def worker_process(url: str, *extra: str) -> AsyncIterator[None]:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "engines.worker_main", "--nats-url", url, "--kind", "echo"),
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        if not (await proc.stdout.readline()).startswith(b"ready "):
            raise RuntimeError("worker did not start")
        yield
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


def report(name: str, samples: list[float]) -> float:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{name:28s} n={len(ordered):5d}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  max {ordered[-1]:6.2f} ms"
    )
    return p50


async def run(jobs: int, warmup: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(store_dir=Path(tmp) / "nats")
        url = await asyncio.to_thread(server.start)
        try:
            client = await nats.connect(url)
            await ensure_streams(client.jetstream())
            worker_nc = await nats.connect(url)
            runner = EngineRunner(worker_nc, Registry([EchoEngine()]), in_process=True)
            await runner.start()
            medians = [report("in-process (thread)", await measure(client, jobs, warmup))]
            await runner.stop()
            await worker_nc.close()
            async with worker_process(url):
                medians.append(report("worker process", await measure(client, jobs, warmup)))
            async with worker_process(url, "--in-process"):
                medians.append(
                    report("worker process, thread", await measure(client, jobs, warmup))
                )
            await client.close()
        finally:
            await asyncio.to_thread(server.stop)
    ok = all(m < TARGET_P50_MS for m in medians)
    print(f"TARGET p50 < {TARGET_P50_MS:.0f} ms: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args(argv)
    return asyncio.run(run(args.jobs, args.warmup))


if __name__ == "__main__":
    sys.exit(main())

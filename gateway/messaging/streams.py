"""JetStream streams, created or updated idempotently at start by every gateway and worker."""

from __future__ import annotations

import asyncio

from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, ServiceUnavailableError

from gateway.messages import subjects

# Nats-Msg-Id deduplicates inside this window; the database's unique constraints are the real
# exactly-once guard, this only keeps a relay's retry after a crash from publishing twice.
DUPLICATE_WINDOW_S = 600.0


def stream_configs(replicas: int = 1) -> list[StreamConfig]:
    return [
        StreamConfig(
            name=subjects.ORDERS_STREAM,
            subjects=[subjects.order_events("*")],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=DUPLICATE_WINDOW_S,
            max_age=90 * 24 * 3600.0,
        ),
        StreamConfig(
            name=subjects.JOBS_STREAM,
            subjects=[subjects.job_queue("*")],
            # A work queue: a job message is gone once a worker acknowledges it.
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=DUPLICATE_WINDOW_S,
        ),
        StreamConfig(
            name=subjects.EVENTS_STREAM,
            subjects=[
                subjects.job_events("*"),
                subjects.session_events("*"),
                subjects.activation_events("*"),
            ],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=DUPLICATE_WINDOW_S,
            max_age=30 * 24 * 3600.0,
            discard=DiscardPolicy.OLD,
        ),
    ]


async def ensure_streams(js: JetStreamContext, replicas: int = 1, timeout_s: float = 15.0) -> None:
    """Create each stream, or update it to this configuration; retried while a cluster forms."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    for config in stream_configs(replicas):
        while True:
            try:
                try:
                    await js.stream_info(config.name or "")
                    await js.update_stream(config)
                except (APIError, ServiceUnavailableError) as exc:
                    if getattr(exc, "err_code", None) != 10059:  # 10059: stream not found
                        raise
                    await js.add_stream(config)
                break
            except (APIError, ServiceUnavailableError, TimeoutError):
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)

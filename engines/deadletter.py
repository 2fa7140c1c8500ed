"""Where a job that exhausted its attempts goes: a copy of its JobRequest, kept 30 days.

The job's terminal JobFailed(dead_lettered=True) on its event subject is the signal the gateway
acts on; this stream keeps the original request for inspection and a manual replay
(re-publish it on `atp.v1.jobs.<kind>` under a new job id).
"""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from gateway.messages.subjects import DEAD_LETTERS_STREAM as DEAD_LETTER_STREAM
from gateway.messages.subjects import dead_letters as dead_letter_subject
from gateway.messaging.streams import DUPLICATE_WINDOW_S

__all__ = [
    "DEAD_LETTER_STREAM",
    "dead_letter_config",
    "dead_letter_subject",
    "ensure_dead_letter_stream",
]


def dead_letter_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=DEAD_LETTER_STREAM,
        subjects=[dead_letter_subject("*")],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=DUPLICATE_WINDOW_S,
        max_age=30 * 24 * 3600.0,
    )


async def ensure_dead_letter_stream(js: JetStreamContext, replicas: int = 1) -> None:
    config = dead_letter_config(replicas)
    try:
        await js.stream_info(DEAD_LETTER_STREAM)
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)

"""A token bucket per API key, in process: each gateway replica limits what it serves."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from gateway.errors import TooManyRequests


class RateLimiter:
    def __init__(
        self, per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._per_s = per_s
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, key_id: str) -> None:
        if self._per_s <= 0:
            return
        now = self._clock()
        tokens, last = self._buckets.get(key_id, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._per_s)
        if tokens < 1.0:
            wait = math.ceil((1.0 - tokens) / self._per_s)
            self._buckets[key_id] = (tokens, now)
            raise TooManyRequests(
                f"rate limit of {self._per_s:g} requests/s per API key exceeded",
                retry_after_s=max(1, wait),
            )
        self._buckets[key_id] = (tokens - 1.0, now)

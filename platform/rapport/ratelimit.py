"""In-process token buckets: the rate limit of the public endpoint and of logins."""

from __future__ import annotations

import math
import time

__all__ = ["TokenBuckets"]


class TokenBuckets:
    """One token bucket per key (tenant): ``rate`` tokens per second, at most ``burst``."""

    def __init__(self, per_minute: int, burst: int, *, max_keys: int = 10_000) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def take(self, key: str) -> float:
        """0 when a token was taken; else the seconds until the next one."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens >= 1.0:
            if key not in self._buckets and len(self._buckets) >= self._max_keys:
                self._buckets.pop(next(iter(self._buckets)))  # the oldest key; bounded memory
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self._rate if self._rate > 0 else math.inf

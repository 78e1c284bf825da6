"""A token bucket per API token: ``rate`` requests a second, bursts up to ``burst``."""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, rate: float, burst: float | None = None) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate limit: got {rate}, expected a number of requests/s > 0")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, 2 * rate)
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, stamp)
        self._lock = threading.Lock()

    def take(self, name: str) -> float | None:
        """Spend one request of ``name``; None if allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(name, (self.burst, now))
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
            if tokens >= 1:
                self._buckets[name] = (tokens - 1, now)
                return None
            self._buckets[name] = (tokens, now)
            return (1 - tokens) / self.rate

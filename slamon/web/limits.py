"""Counting what a client asks for, to refuse too much (the subscribe form, customer tokens)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import Any

_MAX_KEYS = 100_000


class RateLimiter:
    """How often each key was used within a window (memory bounded: oldest keys go)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str, limit: int, window: float) -> bool:
        """Count a use of ``key``; False (not counted) when ``limit`` were in ``window``."""
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        self._hits.move_to_end(key)
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        while len(self._hits) > _MAX_KEYS:
            self._hits.popitem(last=False)
        return True

    def retry_after(self, key: str, window: float) -> float:
        """Seconds until ``key`` may be used again."""
        hits = self._hits.get(key)
        if not hits:
            return 0.0
        return max(0.0, hits[0] + window - float(self.clock()))

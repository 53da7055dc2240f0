"""How far each agent's clock is from the engine's, from send and receive times.

Each message gives one sample, receive time minus the agent's ``sent_at``: the clock
offset plus however long the message travelled (network, and the broker's queue while
the engine was away). The travel time is never negative, so the smallest recent sample
is the best estimate of the offset.

Queued messages arrive in a burst after the engine restarts, all with long travel
times; an estimate from a burst would move their check times later than they were.
So a correction is applied only once the samples span ``settle`` seconds of receive
time, and only when the offset exceeds ``tolerance`` (below it, the agent's own clock is
more precise than anything the engine can measure).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class ClockSkew:
    """The estimated offset of one agent's clock, in seconds (positive: it is behind).

    Samples are kept as one minimum per second of receive time over ``window``
    seconds, so the cost does not grow with the message rate.
    """

    tolerance: float = 2.0
    settle: float = 30.0
    window: float = 300.0
    # [second of receive time on the engine's monotonic clock, smallest sample in it]
    _buckets: deque[list[float]] = field(default_factory=deque)
    _min: float | None = None
    last_sample: float = 0.0
    last_received: float = 0.0  # monotonic time of the last sample
    samples: int = 0

    def add(self, received: float, sample: float) -> None:
        """Record one sample taken at monotonic time ``received``."""
        self.last_sample = sample
        self.last_received = received
        self.samples += 1
        second = float(int(received))
        buckets = self._buckets
        if buckets and buckets[-1][0] == second:
            buckets[-1][1] = min(buckets[-1][1], sample)
        else:
            buckets.append([second, sample])
            evicted = False
            while second - buckets[0][0] > self.window:
                buckets.popleft()
                evicted = True
            if evicted:
                self._min = min(b[1] for b in buckets)
        if self._min is None or sample < self._min:
            self._min = sample

    @property
    def estimate(self) -> float | None:
        """The offset estimate: the smallest recent sample; None without samples."""
        return self._min

    @property
    def settled(self) -> bool:
        """True when the samples span enough receive time to trust the estimate."""
        buckets = self._buckets
        return bool(buckets) and buckets[-1][0] - buckets[0][0] >= self.settle

    @property
    def correction(self) -> float:
        """Seconds to add to the agent's times: the estimate when settled and large."""
        estimate = self._min
        if estimate is None or abs(estimate) <= self.tolerance or not self.settled:
            return 0.0
        return estimate

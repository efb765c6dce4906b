"""The clock every part of the SDK reads, injected so that tests can move time by hand."""

import threading
import time


class Clock:
    """Monotonic seconds (timers, TTLs, back-off) and wall-clock seconds."""

    def monotonic(self):
        return time.perf_counter()

    def time(self):
        return time.time()


class FakeClock(Clock):
    """A clock that moves only when told to (advance); thread-safe."""

    def __init__(self, start=1000.0, wall=1_750_000_000.0):
        self._now = float(start)
        self._wall = float(wall) - float(start)
        self._lock = threading.Lock()

    def monotonic(self):
        with self._lock:
            return self._now

    def time(self):
        with self._lock:
            return self._now + self._wall

    def advance(self, seconds):
        with self._lock:
            self._now += seconds


REAL_CLOCK = Clock()

"""A watchdog that hides an upload before Lambda kills the invocation checking it at its timeout.

`on_upload` quarantines an upload when checking it raises, but an invocation killed at its timeout
runs no more code: without this guard the upload would stay listed, unchecked. While a record is
processed, a daemon timer fires shortly before the deadline and holds the upload (moves it under
the quarantine prefix); pyvips releases the GIL in its C calls, so the timer runs even while an
image is being decoded.

The margin before the deadline is the larger of 2 s (a hold is four S3 calls, which must finish
before the kill) and 10 % of the timeout (a slow S3 takes longer on the same slow day that made
the run slow). Lambda's context gives the remaining time, not the configured timeout: the remaining
time when the invocation starts stands in for it.

The guard and the main path never act on the record at once: each change the main path makes to
S3 (a thumbnail written, an upload removed or released) is one `step()` under the guard's lock,
and once the guard has fired, every further step raises `GuardFiredError` instead. A guard that
fires during a step waits for it to end (a step's S3 calls, botocore's retries included, are never
interleaved with a hold). If the main path finishes first, the guard is cancelled and never
fires. Without a context that tells the remaining time (tests, scripts), there is no guard.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

MIN_MARGIN_S = 2.0
"""The least time kept before the deadline to move the upload."""
MARGIN_FRACTION = 0.1
"""The share of the timeout kept before the deadline, when it is more than `MIN_MARGIN_S`."""


class GuardFiredError(Exception):
    """The timeout guard acted first: the main path must not change the record any more."""


def guard_delays(context: Any) -> Callable[[], float] | None:
    """Call at the invocation's start: a function giving, when a record starts, the seconds its
    guard waits before acting; None without a context that tells the remaining time (no guard)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    margin = max(MIN_MARGIN_S, MARGIN_FRACTION * remaining() / 1000)
    return lambda: remaining() / 1000 - margin


class TimeoutGuard:
    """Runs `hold` once if the main path has not finished `delay` seconds from `start()`.

    `hold` returns whether it hid something; `held` says so after `finish()`."""

    def __init__(self, delay: float, hold: Callable[[], bool]) -> None:
        self._hold = hold
        self._lock = threading.Lock()
        self._done = False
        self._fired = False
        self.held = False
        self._timer = threading.Timer(max(0.0, delay), self._fire)
        self._timer.name = "on_upload-timeout-guard"
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    @contextmanager
    def step(self) -> Iterator[None]:
        """One change of the main path, never alongside the guard's hold; GuardFiredError once
        the guard has fired."""
        with self._lock:
            if self._fired:
                raise GuardFiredError("the timeout guard has held the upload")
            yield

    def finish(self) -> bool:
        """The main path is done (or failed): the guard can no longer fire. True if it fired
        first; waits for a hold under way to complete."""
        with self._lock:
            self._done = True
            self._timer.cancel()
            return self._fired

    def _fire(self) -> None:
        with self._lock:
            if not self._done:
                self._fired = True
                self.held = self._hold()

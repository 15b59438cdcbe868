"""A per-user sliding-window limiter, so one busy user cannot starve the others.

It is in-memory and single-threaded (the bot calls it from the event loop). Memory stays
bounded: users whose window is empty are forgotten, and at most ``max_users`` are tracked.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one check: allowed, or refused with a wait and whether to tell the user."""

    allowed: bool
    retry_after: float = 0.0
    notify: bool = False  # refused, and the user has not been told yet in this window


class RateLimiter:
    """Allow ``limit`` events per ``window_s`` seconds per key."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        max_users: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self.max_users = max_users
        self._clock = clock
        self._events: OrderedDict[int, deque[float]] = OrderedDict()
        self._notified: dict[int, float] = {}  # key -> time the user was told to slow down

    def check(self, key: int) -> Verdict:
        """Record an attempt by ``key``; say whether it may go ahead."""
        now = self._clock()
        events = self._events.get(key)
        if events is None:
            events = deque()
            self._events[key] = events
            self._evict()
        else:
            self._events.move_to_end(key)
        cutoff = now - self.window_s
        while events and events[0] <= cutoff:
            events.popleft()
        if len(events) < self.limit:
            events.append(now)
            self._notified.pop(key, None)
            return Verdict(True)
        retry_after = max(events[0] + self.window_s - now, 0.0)
        told = self._notified.get(key)
        notify = told is None or told <= cutoff
        if notify:
            self._notified[key] = now
        return Verdict(False, retry_after, notify)

    def _evict(self) -> None:
        """Forget the least recently seen users beyond ``max_users``."""
        while len(self._events) > self.max_users:
            key, _ = self._events.popitem(last=False)
            self._notified.pop(key, None)

    def __len__(self) -> int:
        return len(self._events)

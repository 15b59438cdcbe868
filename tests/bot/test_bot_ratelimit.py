"""The per-user limiter: a sliding window, one notice per window, bounded memory."""

from __future__ import annotations

import pytest

from bot.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_allows_limit_then_refuses_with_one_notice() -> None:
    clock = Clock()
    rl = RateLimiter(3, 10.0, clock=clock)
    assert all(rl.check(1).allowed for _ in range(3))
    first = rl.check(1)
    assert not first.allowed and first.notify and 9.9 <= first.retry_after <= 10.0
    second = rl.check(1)
    assert not second.allowed and not second.notify
    assert rl.check(2).allowed  # another user is unaffected


def test_window_slides() -> None:
    clock = Clock()
    rl = RateLimiter(2, 10.0, clock=clock)
    assert rl.check(1).allowed
    clock.now += 6
    assert rl.check(1).allowed
    assert not rl.check(1).allowed
    clock.now += 4.5  # the first event left the window
    assert rl.check(1).allowed
    assert not rl.check(1).allowed


def test_notice_again_in_a_new_window() -> None:
    clock = Clock()
    rl = RateLimiter(1, 5.0, clock=clock)
    rl.check(1)
    assert rl.check(1).notify
    clock.now += 5.1
    assert rl.check(1).allowed
    assert rl.check(1).notify


def test_memory_is_bounded() -> None:
    rl = RateLimiter(1, 60.0, max_users=100, clock=Clock())
    for user in range(1000):
        rl.check(user)
    assert len(rl) == 100


def test_rejects_bad_config() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0, 1.0)
    with pytest.raises(ValueError):
        RateLimiter(1, 0)

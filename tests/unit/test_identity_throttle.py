"""Lockout durations after failed sign-ins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sealchat.identity.throttle import LoginThrottle

MINUTE = timedelta(minutes=1)


def test_no_lockout_below_the_limit() -> None:
    throttle = LoginThrottle(max_failures=5, lockout=MINUTE)
    assert [throttle.lockout_after(n) for n in range(5)] == [None] * 5


def test_lockout_doubles_past_the_limit_up_to_the_cap() -> None:
    throttle = LoginThrottle(max_failures=5, lockout=MINUTE)
    lockouts = [throttle.lockout_after(n) for n in range(5, 13)]
    assert lockouts == [MINUTE * m for m in (1, 2, 4, 8, 16, 32)] + [timedelta(hours=1)] * 2
    assert throttle.lockout_after(10**9) == timedelta(hours=1)


def test_long_lockouts_do_not_overflow() -> None:
    throttle = LoginThrottle(
        max_failures=1, lockout=timedelta(days=365), max_lockout=timedelta(days=3650)
    )
    assert throttle.lockout_after(10**6) == timedelta(days=3650)


def test_locked_until_and_retry_after() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    throttle = LoginThrottle(max_failures=2, lockout=MINUTE)
    assert throttle.locked_until(1, now) is None
    until = throttle.locked_until(2, now)
    assert until == now + MINUTE
    assert throttle.retry_after(until, now + timedelta(seconds=0.5)) == 60
    assert throttle.retry_after(until, now + MINUTE) is None
    assert throttle.retry_after(None, now) is None


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_failures"):
        LoginThrottle(max_failures=0, lockout=MINUTE)

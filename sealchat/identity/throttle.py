"""Per-account sign-in throttling: how long an account stays locked after failures.

After ``max_failures`` consecutive failed sign-ins the account is locked for
``lockout``; each further failure after that (possible once a lockout has passed)
doubles the lockout, up to ``max_lockout``. A successful sign-in resets the count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_MAX_LOCKOUT = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    max_failures: int
    lockout: timedelta
    max_lockout: timedelta = DEFAULT_MAX_LOCKOUT

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.lockout <= timedelta(0):
            raise ValueError("max_failures must be >= 1 and lockout positive")

    def lockout_after(self, failures: int) -> timedelta | None:
        """The lockout earned by ``failures`` consecutive failures, or None below the limit."""
        if failures < self.max_failures:
            return None
        # In float seconds, with a bounded exponent: timedelta arithmetic would overflow
        # for a long lockout doubled many times, and the cap applies long before anyway.
        doublings = min(failures - self.max_failures, 64)
        seconds = self.lockout.total_seconds() * 2.0**doublings
        return timedelta(seconds=min(seconds, self.max_lockout.total_seconds()))

    def locked_until(self, failures: int, now: datetime) -> datetime | None:
        lockout = self.lockout_after(failures)
        return None if lockout is None else now + lockout

    @staticmethod
    def retry_after(locked_until: datetime | None, now: datetime) -> float | None:
        """Whole seconds left in a lockout, or None when the account is not locked."""
        if locked_until is None or locked_until <= now:
            return None
        return float(math.ceil((locked_until - now).total_seconds()))

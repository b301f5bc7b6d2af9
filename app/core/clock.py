"""The one source of 'now', so tests can freeze time and every timestamp is tz-aware UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Current time as a timezone-aware UTC datetime."""
    return _now()


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); None restores the system clock."""
    global _now
    _now = clock if clock is not None else (lambda: datetime.now(UTC))

"""Time for cooperation: a clock that can be replaced (deadlines are tested
without waiting), and service-level durations written as 30m, 4h, 7d, 1d12h."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_PART = re.compile(r"(\d+)([wdhm])")


def system_clock() -> datetime:
    return datetime.now(UTC)


def parse_duration(text: str) -> timedelta:
    """A positive duration from parts such as ``30m``, ``4h``, ``7d``, ``1w`` or ``1d12h``."""
    compact = text.strip().lower()
    parts = _PART.findall(compact)
    if not compact or "".join(number + unit for number, unit in parts) != compact:
        raise ValueError(f"{text!r} is not a duration: write e.g. 30m, 4h, 7d or 1d12h")
    duration = sum((int(number) * UNITS[unit] for number, unit in parts), timedelta())
    if duration <= timedelta():
        raise ValueError(f"{text!r}: a duration must be longer than zero")
    return duration


def format_duration(duration: timedelta) -> str:
    """The shortest spelling ``parse_duration`` reads back: 36h is ``1d12h``."""
    minutes = int(duration.total_seconds()) // 60
    parts = []
    for unit, size in (("d", 24 * 60), ("h", 60), ("m", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0m"

"""Provides learning days: the calendar a collection studies by.

A learning day starts at the rollover hour (04:00 by default, as in Anki) in the collection's
time zone, so a late-night session counts toward the day it started in. Days are numbered by
the proleptic Gregorian ordinal of their date, which makes "days between two reviews" exact
integer arithmetic that no daylight-saving change can bend.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flipdeck.core.errors import InvalidInput

DAY_MS = 86_400_000


def local_zone_name() -> str:
    """The IANA name of this machine's time zone, or ``UTC`` when it cannot be told."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and _valid_zone(tz):
        return tz
    try:
        target = os.path.realpath("/etc/localtime")
        marker = "zoneinfo" + os.sep
        if marker in target:
            name = target.split(marker, 1)[1]
            if _valid_zone(name):
                return name
    except OSError:
        pass
    try:
        with open("/etc/timezone", encoding="utf-8") as f:
            name = f.read().strip()
        if _valid_zone(name):
            return name
    except OSError:
        pass
    return "UTC"


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone(name: str) -> ZoneInfo:
    """The zone called ``name``; an unknown name is the user's mistake."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r}", hint="Use an IANA name such as Europe/Paris or UTC."
        ) from None


class Calendar:
    """Converts instants (epoch ms) to learning days and back, for one zone and rollover hour."""

    def __init__(self, tz_name: str = "UTC", rollover_hour: int = 4) -> None:
        if not 0 <= rollover_hour <= 23:
            raise InvalidInput(f"rollover hour must be 0–23, not {rollover_hour}")
        self.tz_name = tz_name
        self.tz = zone(tz_name)
        self.rollover_hour = rollover_hour
        self._rollover = timedelta(hours=rollover_hour)
        self._start_of = lru_cache(maxsize=65536)(self._day_start)

    def day(self, ms: int) -> int:
        """The learning day an instant belongs to.

        Days are counted in whole seconds and a day ends *at* its cutoff, as in Anki: an answer
        stamped exactly at the rollover second belongs to the day that ends there.
        """
        seconds = ms // 1000 - 1
        local = datetime.fromtimestamp(seconds, self.tz) - self._rollover
        return local.toordinal()

    def start(self, day: int) -> int:
        """The instant (epoch ms) at which learning day ``day`` begins."""
        return self._start_of(day)

    def _day_start(self, day: int) -> int:
        local = datetime.combine(date.fromordinal(day), time(self.rollover_hour), tzinfo=self.tz)
        return int(local.astimezone(UTC).timestamp() * 1000)

    def today(self, now_ms: int) -> int:
        """Today's learning day."""
        return self.day(now_ms)

    def next_cutoff(self, now_ms: int) -> int:
        """The instant today's learning day ends (the next rollover)."""
        return self.start(self.day(now_ms) + 1)

    def date_of(self, day: int) -> date:
        """The calendar date a learning day is named after."""
        return date.fromordinal(day)

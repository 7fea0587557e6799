"""Tests learning days: the 04:00 rollover (as in Anki), the rollover second belonging to the day
it ends, and day/start round-trips in a zone with daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flipdeck.core.days import DAY_MS, Calendar, local_zone_name
from flipdeck.core.errors import InvalidInput

HOUR_MS = 3_600_000
UTC4 = Calendar("UTC", 4)
BERLIN = Calendar("Europe/Berlin", 4)


def at(zone: str, *args: int) -> int:
    """Epoch ms of a local wall-clock time in ``zone``."""
    return int(datetime(*args, tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def day_of(d: date) -> int:
    return d.toordinal()


# -- the rollover ---------------------------------------------------------------------------------


def test_answers_at_three_and_five_on_one_date_are_different_learning_days():
    """03:00 still belongs to the day before: a late-night session counts toward its start."""
    three, five = at("UTC", 2025, 12, 1, 3), at("UTC", 2025, 12, 1, 5)
    assert UTC4.day(three) == day_of(date(2025, 11, 30))
    assert UTC4.day(five) == day_of(date(2025, 12, 1))


def test_answers_at_five_and_three_next_morning_are_one_learning_day():
    five, three = at("UTC", 2025, 12, 1, 5), at("UTC", 2025, 12, 2, 3)
    assert three - five == 22 * HOUR_MS
    assert UTC4.day(five) == UTC4.day(three) == day_of(date(2025, 12, 1))


def test_22_hours_across_the_rollover_are_different_days():
    three, one = at("UTC", 2025, 12, 1, 3), at("UTC", 2025, 12, 2, 1)
    assert one - three == 22 * HOUR_MS
    assert UTC4.day(one) == UTC4.day(three) + 1


def test_the_rollover_second_belongs_to_the_day_it_ends():
    """Anki works in whole seconds and a day ends *at* its cutoff (anki-formats.md §7.4)."""
    cutoff = at("UTC", 2025, 12, 2, 4)
    today = day_of(date(2025, 12, 2))
    assert UTC4.start(today) == cutoff
    assert UTC4.day(cutoff - 1) == today - 1
    assert UTC4.day(cutoff) == today - 1
    assert UTC4.day(cutoff + 999) == today - 1  # still the cutoff second
    assert UTC4.day(cutoff + 1000) == today


@pytest.mark.parametrize("hour", [0, 4, 23])
def test_other_rollover_hours(hour):
    calendar = Calendar("UTC", hour)
    d = day_of(date(2025, 12, 1))
    assert calendar.start(d) == at("UTC", 2025, 12, 1, hour)
    assert calendar.day(calendar.start(d) + 1000) == d
    assert calendar.day(calendar.start(d + 1)) == d


def test_today_next_cutoff_and_date_of():
    now = at("UTC", 2025, 12, 1, 12)
    assert UTC4.today(now) == day_of(date(2025, 12, 1))
    assert UTC4.next_cutoff(now) == at("UTC", 2025, 12, 2, 4)
    assert UTC4.date_of(UTC4.today(now)) == date(2025, 12, 1)


def test_days_are_in_the_calendar_zone():
    """The same instant is a different learning day in Tokyo (UTC+9) than in UTC."""
    instant = at("UTC", 2025, 12, 1, 20)  # 05:00 on 2 December in Tokyo
    assert Calendar("Asia/Tokyo", 4).day(instant) == UTC4.day(instant) + 1


# -- daylight saving ------------------------------------------------------------------------------

# The last Sundays of March and October 2026, when Berlin changes between CET and CEST.
SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)


@pytest.mark.parametrize(
    ("first", "hours"),
    [(SPRING - timedelta(days=1), 23), (AUTUMN - timedelta(days=1), 25), (SPRING, 24)],
)
def test_learning_days_across_a_clock_change_are_23_or_25_hours(first, hours):
    """The day that contains the 02:00 change is short or long; numbering stays one a day."""
    d = day_of(first)
    assert BERLIN.start(d + 1) - BERLIN.start(d) == hours * HOUR_MS
    assert BERLIN.start(d) == at("Europe/Berlin", first.year, first.month, first.day, 4)


@pytest.mark.parametrize("rollover", [0, 2, 3, 4, 23])
@pytest.mark.parametrize("around", [SPRING, AUTUMN])
def test_day_and_start_round_trip_across_dst(rollover, around):
    """``day(start(d) + 1 s) == d`` and ``day(start(d)) == d - 1``: the cutoff second belongs
    to the previous day. Rollovers 2 and 3 fall in the spring gap or the autumn overlap."""
    calendar = Calendar("Europe/Berlin", rollover)
    for d in range(day_of(around) - 3, day_of(around) + 4):
        assert calendar.day(calendar.start(d) + 1000) == d
        assert calendar.day(calendar.start(d)) == d - 1
        assert calendar.start(d) < calendar.start(d + 1)


@given(
    st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"]),
    st.integers(0, 23),
    st.integers(day_of(date(2000, 1, 1)), day_of(date(2060, 1, 1))),
)
@settings(max_examples=300)
def test_day_start_round_trip_anywhere(tz, rollover, d):
    calendar = Calendar(tz, rollover)
    assert calendar.day(calendar.start(d) + 1000) == d
    assert calendar.day(calendar.start(d)) == d - 1


@given(st.integers(at("UTC", 2000, 1, 1), at("UTC", 2060, 1, 1)))
@settings(max_examples=300)
def test_every_instant_lies_inside_its_day(ms):
    """``start(day(t)) < t <= start(day(t) + 1)``, with ``t`` truncated to whole seconds."""
    d = BERLIN.day(ms)
    second = ms // 1000 * 1000
    assert BERLIN.start(d) < second <= BERLIN.start(d + 1)
    assert BERLIN.day(ms + DAY_MS + 2 * HOUR_MS) > d


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("hour", [-1, 24, 100])
def test_rollover_hour_out_of_range_is_refused(hour):
    with pytest.raises(InvalidInput, match="rollover hour"):
        Calendar("Europe/Berlin", hour)


def test_unknown_zone_is_refused_with_a_hint():
    with pytest.raises(InvalidInput, match="Mars/Olympus") as info:
        Calendar("Mars/Olympus", 4)
    assert "IANA" in (info.value.hint or "")


def test_local_zone_name_follows_tz(monkeypatch):
    monkeypatch.setenv("TZ", ":Asia/Tokyo")
    assert local_zone_name() == "Asia/Tokyo"
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert local_zone_name() == "Europe/Berlin"


def test_local_zone_name_ignores_a_bogus_tz(monkeypatch):
    """A TZ that names no zone falls back to the system setting or UTC, never crashes."""
    monkeypatch.setenv("TZ", "Not/AZone")
    name = local_zone_name()
    assert name != "Not/AZone"
    ZoneInfo(name)  # whatever it picked is a real zone


def test_start_is_utc_epoch_ms():
    assert UTC4.start(day_of(date(1970, 1, 1))) == 4 * HOUR_MS
    assert datetime.fromtimestamp(UTC4.start(day_of(SPRING)) / 1000, UTC).hour == 4

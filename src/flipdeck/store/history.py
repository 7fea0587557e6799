"""Provides what the TUI's statistics screen plots beyond `stats.report`: answers per learning
day over a span of days (the calendar heatmap and the reviews-per-day chart), true retention
over any span, and the cards in each state.

Days are learning days of the collection's calendar (rollover hour and time zone), the same
days `stats.report` and the daily limits count in, so the heatmap's today and the report's
today always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from flipdeck.store import config


@dataclass(frozen=True)
class DayCount:
    """How many answers were given on one learning day."""

    day: int
    """The learning day (a proleptic Gregorian ordinal; ``Calendar.date_of`` names it)."""
    count: int


def _first_instant(calendar, day: int) -> int:
    """The first instant ``Calendar.day`` counts in ``day``: a day ends *at* its cutoff
    second, so an answer stamped in that second still belongs to the day before."""
    at = calendar.start(day)
    if calendar.day(at) < day:
        at = (at // 1000 + 1) * 1000
    return at


def daily_answers(col, days: int = 365, now: int | None = None) -> list[DayCount]:
    """Answers (not manual events) per learning day, for the ``days`` days ending today,
    oldest first; days without answers are listed with 0.

    One range count per day on the ``reviewed_at`` index: with ~500k events a year that reads
    only the index, never the review rows, and stays exact across time-zone changes.
    """
    now = col.now() if now is None else now
    calendar = config.calendar(col)
    today = calendar.day(now)
    first = today - days + 1
    bounds = [_first_instant(calendar, day) for day in range(first, today + 2)]
    sql = "SELECT count(*) FROM reviews WHERE reviewed_at >= ? AND reviewed_at < ? AND rating > 0"
    out = []
    for offset in range(days):
        count = col.conn.execute(sql, (bounds[offset], bounds[offset + 1])).fetchone()[0]
        out.append(DayCount(first + offset, count))
    return out


@dataclass(frozen=True)
class Retention:
    """True retention over a span: the share of review answers that were not Again."""

    days: int
    passed: int
    total: int

    @property
    def rate(self) -> float | None:
        """``passed / total``, or ``None`` without reviews."""
        return self.passed / self.total if self.total else None


def retention(col, days: int, now: int | None = None) -> Retention:
    """True retention over the ``days`` learning days ending today (review answers only, as
    Anki counts it: learning steps say nothing about memory)."""
    now = col.now() if now is None else now
    calendar = config.calendar(col)
    since = _first_instant(calendar, calendar.day(now) - days + 1)
    passed, total = col.conn.execute(
        "SELECT coalesce(sum(rating > 1), 0), count(*) FROM reviews"
        " WHERE kind = 'review' AND rating > 0 AND reviewed_at >= ?",
        (since,),
    ).fetchone()
    return Retention(days, passed, total)


STATES = ("new", "learning", "review", "relearning", "suspended", "buried")
"""The keys of :func:`state_counts`, in the order the statistics screen shows them."""


def state_counts(col, now: int | None = None) -> dict[str, int]:
    """Live cards by state; suspended and buried cards are counted apart from their state,
    as Anki's "card counts" chart shows them."""
    now = col.now() if now is None else now
    counts = dict.fromkeys(STATES, 0)
    names = {0: "new", 1: "learning", 2: "review", 3: "relearning"}
    for state, suspended, buried, count in col.conn.execute(
        "SELECT state, suspended, buried_until > ?, count(*) FROM cards WHERE deleted = 0"
        " GROUP BY 1, 2, 3",
        (now,),
    ):
        if suspended:
            counts["suspended"] += count
        elif buried:
            counts["buried"] += count
        else:
            counts[names.get(state, "new")] += count
    return counts

"""`flipdeck stats` figures: today's work, the streak, true retention, the coming load."""

from __future__ import annotations

from flipdeck.store import config, reviews, stats
from tests.store.helpers import add


def test_empty_collection_report(col):
    report = stats.report(col)
    assert report.today_reviews == 0 and report.today_again_rate is None
    assert report.streak_days == 0 and report.retention_30d is None
    assert report.future_due == [0] * 30


def test_today_streak_and_retention(col, clock):
    cards_ = [add(col, f"q{i}", "a")[1][0] for i in range(4)]
    # three consecutive learning days of study, ending today
    for day in (2, 1, 0):
        at = clock.ms - day * 86_400_000
        with col.transaction():
            for card in cards_:
                reviews.answer(col, card, 4 if day == 2 else 3, at=at, duration_ms=2000)
                at += 1000
    with col.transaction():
        reviews.answer(col, cards_[0], 1, at=clock.ms + 60_000, duration_ms=5000)
    clock.advance(minutes=2)
    report = stats.report(col)
    assert report.today_reviews == 5
    assert report.today_time_ms == 4 * 2000 + 5000
    assert report.today_again_rate == 1 / 5
    assert report.streak_days == 3
    # review-kind answers in 30 days: 8 on days 1 and 0 (Good) + the Again: 8 of 9 passed
    assert report.retention_30d_reviews == 9
    assert report.retention_30d == 8 / 9


def test_streak_counts_yesterday_when_nothing_studied_today(col, clock):
    _n, (card,) = add(col, "q", "a")
    with col.transaction():
        reviews.answer(col, card, 3, at=clock.ms - 86_400_000)
    assert stats.report(col).streak_days == 1


def test_future_due_buckets(col, clock):
    card_ids = [add(col, f"q{i}", "a")[1][0] for i in range(3)]
    today = config.calendar(col).today(clock.ms)
    with col.transaction():
        reviews.set_due(col, card_ids[:2], today + 3)
        reviews.set_due(col, card_ids[2:], today - 2)  # overdue counts as today
    future = stats.report(col).future_due
    assert future[3] == 2 and future[0] == 1 and sum(future) == 3

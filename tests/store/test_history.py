"""`store.history`, what the statistics screen plots: answers per learning day (the day ends
at the rollover, in the collection's time zone), true retention over a span, and cards by
state with suspended and buried counted apart. (It lives in the store, but only the TUI uses
it, so its tests sit with the TUI's.)"""

from __future__ import annotations

from flipdeck.store import cards, config, decks, history, notes, notetypes, reviews

HOUR = 3_600_000


def _cards(col, count: int) -> list[str]:
    with col.transaction():
        deck = decks.create(col, "Stats")
        basic = notetypes.find(col, "Basic")
        return [notes.add(col, basic, deck.id, [f"q{i}", f"a{i}"])[1][0] for i in range(count)]


def test_answers_are_counted_on_their_learning_day(col, clock):
    ids = _cards(col, 3)
    calendar = config.calendar(col)
    today = calendar.day(clock())
    rollover = calendar.start(today)  # 04:00 UTC today
    with col.transaction():
        reviews.answer(col, ids[0], 3, at=rollover - 1000, duration_ms=1)  # yesterday, 03:59:59
        reviews.answer(col, ids[1], 3, at=rollover, duration_ms=1)  # the cutoff second: yesterday
        reviews.answer(col, ids[2], 1, at=rollover + 1000, duration_ms=1)  # today
    days = history.daily_answers(col, 3)
    assert [d.day for d in days] == [today - 2, today - 1, today]
    assert [d.count for d in days] == [0, 2, 1]
    assert sum(d.count for d in history.daily_answers(col, 365)) == 3


def test_retention_counts_review_answers_only(col, clock):
    ids = _cards(col, 2)
    with col.transaction():
        for card_id in ids:  # learning answers: not counted
            reviews.answer(col, card_id, 4, at=clock() - 20 * 24 * HOUR, duration_ms=1)
    due = [cards.info(col, i).state.due for i in ids]
    assert max(due) + HOUR < clock() - 2 * 24 * HOUR  # the review answers: days ago
    with col.transaction():
        reviews.answer(col, ids[0], 3, at=max(due) + HOUR, duration_ms=1)
        reviews.answer(col, ids[1], 1, at=max(due) + HOUR, duration_ms=1)
    month = history.retention(col, 30)
    assert (month.passed, month.total) == (1, 2)
    assert month.rate == 0.5
    assert history.retention(col, 1).total == 0  # nothing reviewed today
    assert history.Retention(7, 0, 0).rate is None


def test_state_counts(col, clock):
    ids = _cards(col, 4)
    with col.transaction():
        reviews.answer(col, ids[0], 1, at=clock(), duration_ms=1)
        cards.set_suspended(col, [ids[1]], True)
        cards.bury(col, [ids[2]], clock() + 24 * HOUR)
    counts = history.state_counts(col)
    assert counts == {
        "new": 1,
        "learning": 1,
        "review": 0,
        "relearning": 0,
        "suspended": 1,
        "buried": 1,
    }
    assert list(counts) == list(history.STATES)

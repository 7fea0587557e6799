"""The study queue: learning cards whose step is over first, then reviews due today, then new
cards, all within the daily limits of the deck and of every deck between it and the card."""

from __future__ import annotations

from flipdeck.core.scheduling import NEW, REVIEW
from flipdeck.store import decks, presets, reviews
from flipdeck.store.queue import Queue
from flipdeck.store.session import StudySession
from tests.store.helpers import add, review_count


def set_limits(col, deck_name, **options):
    with col.transaction():
        deck = decks.find(col, deck_name)
        base = presets.load(col, deck.preset_id)
        from dataclasses import replace

        copy = presets.save(col, replace(base, id=col.new_id(), name=f"p-{deck_name}"))
        presets.save(col, copy.with_options(**options))
        decks.set_preset(col, deck, copy.id)


def test_order_learning_then_review_then_new(col, clock):
    _n, (_new_card,) = add(col, "new", "a")
    _n, (review_card,) = add(col, "review", "a")
    _n, (learning_card,) = add(col, "learning", "a")
    with col.transaction():
        reviews.answer(col, review_card, 4)  # review, due in days
        reviews.answer(col, learning_card, 1)  # learning, due in 1 minute
    clock.advance(days=30)
    with col.transaction():
        reviews.answer(col, learning_card, 1)  # a lapse-free learning card, due in 1 min
    queue = Queue(col)
    assert queue.next() == review_card  # the learning card is not due yet
    assert queue.counts().review == 1 and queue.counts().new == 1
    clock.advance(minutes=2)
    assert queue.next() == learning_card


def test_new_cards_come_in_the_order_they_were_added(col, clock):
    ids = []
    for i in range(5):
        ids.append(add(col, f"q{i}", "a")[1][0])
        clock.advance(seconds=1)
    queue = Queue(col)
    assert list(queue.new) == ids


def test_daily_new_limit_counts_what_was_studied_today(col):
    for i in range(8):
        add(col, f"q{i}", "a", deck="Lang")
    set_limits(col, "Lang", new_per_day=3)
    session = StudySession(col, decks.find(col, "Lang"))
    assert session.counts().new == 3
    session.next_card()
    session.answer(3)
    # a new session the same day sees what is left of today's allowance
    assert StudySession(col, decks.find(col, "Lang")).counts().new == 2


def test_child_limits_apply_inside_the_parent(col):
    for i in range(6):
        add(col, f"parent{i}", "a", deck="P")
        add(col, f"child{i}", "a", deck="P::C")
    set_limits(col, "P::C", new_per_day=2)
    queue = Queue(col, decks.find(col, "P"))
    child = decks.find(col, "P::C").id
    from_child = [
        c
        for c in queue.new
        if col.conn.execute("SELECT deck_id FROM cards WHERE id = ?", (c,)).fetchone()[0] == child
    ]
    assert len(from_child) == 2 and queue.counts().new == 8


def test_learn_ahead_when_nothing_else_is_left(col, clock):
    """A learning card due within 20 minutes is shown once nothing else is left (Anki's
    learn-ahead limit); one due later makes the session wait."""
    _n, (card,) = add(col, "q", "a")
    set_limits(col, "Default", learning_steps=(10.0, 60.0))
    session = StudySession(col)
    assert session.next_card().id == card
    session.answer(3)  # next step in 60 minutes: beyond the window
    assert session.next_card() is None
    assert session.queue.waiting() == clock.ms + 60 * 60_000
    clock.advance(minutes=45)
    assert session.next_card().id == card


def test_learning_card_within_learn_ahead_is_shown(col, clock):
    _n, (card,) = add(col, "q", "a")
    session = StudySession(col)
    session.next_card()
    session.answer(1)  # again: due in one minute
    shown = session.next_card()
    assert shown is not None and shown.id == card


def test_siblings_leave_the_session_once_one_is_answered(col):
    _n, (front, _back) = add(col, "q", "a", notetype="Basic (and reversed card)")
    session = StudySession(col)
    assert session.counts().new == 2
    assert session.next_card().id == front
    session.answer(4)
    assert session.next_card() is None
    assert session.counts().new == 0


def test_undo_in_a_session_restores_card_and_counts(col):
    _n, (card,) = add(col, "q", "a")
    session = StudySession(col)
    session.next_card()
    session.answer(4)
    assert session.next_card() is None
    assert session.undo() == "answer"
    assert review_count(col) == 0
    again = session.next_card()
    assert again.id == card and again.state.state == NEW
    assert session.summary.answered == 0


def test_multi_step_undo(col):
    for i in range(3):
        add(col, f"q{i}", "a")
    session = StudySession(col)
    first = session.next_card().id
    session.answer(4)
    second = session.next_card().id
    session.bury()
    third = session.next_card().id
    session.flag(3)
    assert [session.undo(), session.undo(), session.undo()] == ["flag", "bury", "answer"]
    assert session.undo() is None
    from flipdeck.store import cards

    assert cards.info(col, third).flag == 0
    assert cards.info(col, second).buried_until == 0
    assert cards.info(col, first).state.state == NEW


def test_review_cards_due_today_within_the_review_limit(col, clock):
    ids = [add(col, f"q{i}", "a", deck="R")[1][0] for i in range(5)]
    with col.transaction():
        for card in ids:
            reviews.answer(col, card, 4)
    set_limits(col, "R", reviews_per_day=2)
    clock.advance(days=60)
    queue = Queue(col, decks.find(col, "R"))
    assert queue.counts().review == 2
    from flipdeck.store import cards

    assert all(cards.info(col, c).state.state == REVIEW for c in queue.reviews)

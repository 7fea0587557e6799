"""Answers and the derived state: the cache always equals a fold of the log, undo leaves a
grave, leeches are tagged, siblings are buried, manual events re-schedule."""

from __future__ import annotations

import random

import pytest

from flipdeck.core.errors import InvalidInput
from flipdeck.core.scheduling import LEARNING, NEW, RELEARNING, REVIEW
from flipdeck.store import cards, config, decks, notes, presets, reviews
from tests.store.helpers import add, review_count


def state(col, card_id):
    return cards.info(col, card_id).state


def test_first_answers_follow_fsrs(col, clock):
    _n, (card,) = add(col, "q", "a")
    with col.transaction():
        done = reviews.answer(col, card, 3, duration_ms=4000)
    assert done.before.state == NEW and done.after.state == LEARNING
    assert done.after.stability == pytest.approx(2.3065)
    assert done.after.due == clock.ms + 10 * 60_000
    row = col.conn.execute(
        "SELECT rating, kind, duration_ms, reviewed_at FROM reviews WHERE card_id = ?", (card,)
    ).fetchone()
    assert row == (3, "learn", 4000, clock.ms)
    assert col.conn.execute(
        "SELECT count(*) FROM changes WHERE entity = 'review' AND row_id = ?", (done.event_id,)
    ).fetchone() == (1,)


def test_bad_rating_is_refused(col):
    _n, (card,) = add(col, "q", "a")
    with pytest.raises(InvalidInput), col.transaction():
        reviews.answer(col, card, 5)
    assert review_count(col) == 0


def test_cache_equals_rebuild_after_a_long_random_history(col, clock):
    """The derived state kept per card is exactly what folding the log gives."""
    rng = random.Random(5)
    card_ids = [add(col, f"q{i}", "a")[1][0] for i in range(12)]
    for _ in range(300):
        card = rng.choice(card_ids)
        clock.advance(hours=rng.choice([0.01, 0.2, 5, 30, 200]))
        with col.transaction():
            if rng.random() < 0.03:
                reviews.forget(col, [card])
            elif rng.random() < 0.03:
                reviews.set_due(col, [card], config.calendar(col).today(clock.ms) + 3)
            else:
                reviews.answer(col, card, rng.choice([1, 2, 3, 3, 3, 4]))
    cached = {c: state(col, c) for c in card_ids}
    assert reviews.stale_cards(col) == []
    reviews.rebuild(col)
    assert {c: state(col, c) for c in card_ids} == cached


def test_an_answer_earlier_than_the_last_refolds_the_card(col, clock):
    """Answers recorded out of order (a script with past times) land in their place."""
    _n, (card,) = add(col, "q", "a")
    t0 = clock.ms
    with col.transaction():
        reviews.answer(col, card, 3, at=t0 + 2 * 86_400_000)
        reviews.answer(col, card, 3, at=t0)
    assert reviews.stale_cards(col) == []
    events = reviews.events(col, card)
    assert [e.reviewed_at for e in events] == [t0, t0 + 2 * 86_400_000]


def test_undo_removes_the_review_and_leaves_a_grave(col):
    _n, (card,) = add(col, "q", "a")
    with col.transaction():
        done = reviews.answer(col, card, 1)
    with col.transaction():
        reviews.undo(col, done)
    assert review_count(col) == 0
    assert state(col, card).state == NEW
    assert col.conn.execute("SELECT id FROM review_graves").fetchall() == [(done.event_id,)]
    last = col.conn.execute("SELECT data FROM changes ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert last == '{"deleted":true}'


def test_answering_buries_new_and_review_siblings_until_tomorrow(col, clock):
    _n, (front, back) = add(col, "q", "a", notetype="Basic (and reversed card)")
    with col.transaction():
        done = reviews.answer(col, front, 3)
    cutoff = config.calendar(col).next_cutoff(clock.ms)
    assert cards.info(col, back).buried_until == cutoff
    assert done.buried == {back: 0}
    with col.transaction():
        reviews.undo(col, done)
    assert cards.info(col, back).buried_until == 0


def lapse_until_leech(col, clock, card, lapses):
    with col.transaction():
        reviews.answer(col, card, 4)  # straight to review
    done = None
    for _ in range(lapses):
        clock.advance(days=40)
        with col.transaction():
            done = reviews.answer(col, card, 1)  # lapse
        clock.advance(minutes=15)
        with col.transaction():
            reviews.answer(col, card, 3)  # relearnt
    return done


def test_leech_is_tagged_at_the_threshold(col, clock):
    note, (card,) = add(col, "q", "a")
    done = lapse_until_leech(col, clock, card, 8)
    assert done.leech and done.after.lapses == 8 and not done.suspended_as_leech
    assert "leech" in notes.load(col, note.id).tags
    assert not cards.info(col, card).suspended


def test_leech_can_suspend(col, clock):
    _note, (card,) = add(col, "q", "a")
    with col.transaction():
        preset = presets.load(col, decks.find(col, "Default").preset_id)
        presets.save(col, preset.with_options(leech_action="suspend", leech_threshold=2))
    done = lapse_until_leech(col, clock, card, 2)
    assert done.suspended_as_leech
    info = cards.info(col, card)
    assert info.suspended
    assert col.conn.execute("SELECT queue FROM cards WHERE id = ?", (card,)).fetchone() == (-1,)


def test_lapse_enters_relearning(col, clock):
    _n, (card,) = add(col, "q", "a")
    with col.transaction():
        reviews.answer(col, card, 4)
    assert state(col, card).state == REVIEW
    clock.advance(days=20)
    with col.transaction():
        done = reviews.answer(col, card, 1)
    assert done.after.state == RELEARNING and done.after.lapses == 1
    assert done.after.due == clock.ms + 10 * 60_000


def test_forget_and_set_due_are_manual_events(col, clock):
    _n, (card,) = add(col, "q", "a")
    with col.transaction():
        reviews.answer(col, card, 4)
    clock.advance(minutes=1)
    with col.transaction():
        reviews.forget(col, [card])
    assert state(col, card).state == NEW and state(col, card).reps == 1
    today = config.calendar(col).today(clock.ms)
    clock.advance(minutes=1)
    with col.transaction():
        reviews.set_due(col, [card], today + 5)
    after = state(col, card)
    assert after.state == REVIEW and after.due == config.calendar(col).start(today + 5)
    kinds = [e.kind for e in reviews.events(col, card)]
    assert kinds == ["learn", "manual", "manual"]
    assert reviews.stale_cards(col) == []


def test_changing_a_preset_reschedules_its_cards(col, clock):
    _n, (card,) = add(col, "q", "a")
    with col.transaction():
        reviews.answer(col, card, 4)
    before = state(col, card)
    deck = decks.find(col, "Default")
    with col.transaction():
        presets.save(col, presets.load(col, deck.preset_id).with_options(desired_retention=0.7))
        reviews.refold_decks(col, [deck.id])
    after = state(col, card)
    assert after.stability == before.stability and after.interval > before.interval
    assert reviews.stale_cards(col) == []

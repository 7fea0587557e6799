"""The whole study flow driven by keys, as a user drives it; each test asserts what the store
holds afterwards (read through a second connection), not just what was drawn."""

from __future__ import annotations

import pytest

from flipdeck.core.scheduling import LEARNING, NEW
from flipdeck.store import cards, decks, notes, reviews, stats
from flipdeck.tui.screens.study import StudyScreen
from tests.tui.conftest import settle

pytestmark = pytest.mark.anyio


def _verbs(store):
    return decks.find(store, "Spanish::Verbs")


def _answered(store) -> list[tuple[str, int]]:
    """(card id, rating) of every answer in the review log."""
    out = []
    for card_id in _all_cards(store):
        out += [(card_id, e.rating) for e in reviews.events(store, card_id) if e.rating > 0]
    return out


def _all_cards(store) -> list[str]:
    from flipdeck.store import search

    return search.find_cards(store, "", now=store.now())


async def _study(pilot, deck: str = "Spanish::Verbs") -> StudyScreen:
    """Open the deck from the deck list with the keyboard."""
    app = pilot.app
    table = app.screen.query_one("#decks-table")
    table.move_cursor(row=table.get_row_index(decks.find(app.col, deck).id))
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, StudyScreen)
    return app.screen


async def test_space_reveals_and_keys_answer(make, store):
    """1–4 answer the card shown; the answer is in the log before the next card appears."""
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _study(pilot)
        first = screen.session.current.id
        assert screen.phase == "front"
        await pilot.press("space")
        assert screen.phase == "back"
        labels = [str(b.label) for b in screen.query("AnswerBar Button")][1:]
        assert labels[0].startswith("1 Again · ") and labels[2].startswith("3 Good · ")
        await pilot.press("3")
        await settle(pilot)
        second = screen.session.current.id
        assert second != first
        await pilot.press("space", "1")
        await settle(pilot)
    assert sorted(_answered(store)) == sorted([(first, 3), (second, 1)])
    assert cards.info(store, first).state.state == LEARNING
    assert screen.session.summary.answered == 2


async def test_undo_takes_the_answer_back_out_of_the_store(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _study(pilot)
        card_id = screen.session.current.id
        await pilot.press("space", "4")
        await settle(pilot)
        assert [e.rating for e in reviews.events(store, card_id)] == [4]
        await pilot.press("u")
        await settle(pilot)
        assert screen.session.current.id == card_id  # the card comes back first
        assert screen.phase == "front"
    assert reviews.events(store, card_id) == []
    assert cards.info(store, card_id).state.state == NEW


async def test_bury_hides_the_card_until_tomorrow(make, store, clock):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _study(pilot)
        card_id = screen.session.current.id
        await pilot.press("b")
        await settle(pilot)
        assert screen.session.current.id != card_id
    card = cards.info(store, card_id)
    assert card.buried(clock()) and not card.suspended
    assert reviews.events(store, card_id) == []


async def test_suspend_then_undo(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _study(pilot)
        card_id = screen.session.current.id
        await pilot.press("s")
        await settle(pilot)
        assert cards.info(store, card_id).suspended
        await pilot.press("u")
        await settle(pilot)
        assert screen.session.current.id == card_id
    assert not cards.info(store, card_id).suspended


async def test_flag_picks_a_flag_from_the_dialog(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _study(pilot)
        card_id = screen.session.current.id
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("3")  # green
        await settle(pilot)
        assert isinstance(app.screen, StudyScreen)
        assert screen.session.current.id == card_id  # flagging keeps the card
    assert cards.info(store, card_id).flag == 3


async def test_edit_in_place_saves_the_note(make, store):
    """e opens the note's fields in place; ctrl+s saves them through notes.edit."""
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _study(pilot)
        card = screen.session.current
        await pilot.press("space", "e")
        await settle(pilot)
        assert screen.phase == "edit"
        back = screen.query_one("#note-field-1")
        back.text = "to speak, to talk"
        tags = screen.query_one("#note-tags")
        tags.value = "verb common"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.phase == "back"  # back where the edit began
        assert "to talk" in str(screen.query_one("#card-text").render())
    note = notes.load(store, card.note_id)
    assert "to speak, to talk" in note.fields.values()
    assert set(note.tags) == {"verb", "common"}


async def test_escape_cancels_an_edit_and_changes_nothing(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _study(pilot)
        card = screen.session.current
        before = notes.load(store, card.note_id).fields
        await pilot.press("e")
        await settle(pilot)
        screen.query_one("#note-field-0").text = "changed"
        await pilot.press("escape")
        await settle(pilot)
        assert screen.phase == "front"
    assert notes.load(store, card.note_id).fields == before


async def test_the_session_ends_with_a_summary(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _study(pilot)
        for _ in range(3):
            await pilot.press("space", "4")  # Easy: each card graduates and leaves the day
            await settle(pilot)
        assert screen.phase == "done"
        shown = str(screen.query_one("#card-text").render())
        assert "Studied 3 card(s)" in shown and "Easy 3" in shown
        await pilot.press("escape")
        await settle(pilot)
        assert type(app.screen).__name__ == "DecksScreen"
    verbs = next(r for r in stats.deck_tree(store) if r.deck.name == "Spanish::Verbs")
    assert (verbs.new, verbs.learning, verbs.review) == (0, 0, 0)


async def test_type_in_answer_is_compared(make, store):
    """On a type-in card the typed answer is checked against the field and the difference
    shown; the answer then goes to the store as usual."""
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _study(pilot, "Geography")
        while cards.type_in_field(app.col, screen.session.current) is None:
            await pilot.press("space", "4")
            await settle(pilot)
        card_id = screen.session.current.id
        typed = screen.query_one("#study-typed")
        assert typed.display and typed.has_focus
        await pilot.press(*"Roma", "enter")
        await settle(pilot)
        assert screen.phase == "back"
        assert screen.typed == "Roma"
        shown = str(screen.query_one("#card-text").render())
        assert "Roma → Rome" in shown  # what was typed (struck out in red), then the answer
        await pilot.press("1")
        await settle(pilot)
    assert [e.rating for e in reviews.events(store, card_id)] == [1]


async def test_cloze_cards_hide_the_deletion(make):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _study(pilot, "Geography")
        while cards.type_in_field(app.col, screen.session.current) is not None:
            await pilot.press("space", "4")
            await settle(pilot)
        front = str(screen.query_one("#card-text").render())
        assert "[...]" in front
        await pilot.press("space")
        back = str(screen.query_one("#card-text").render())
        assert "Paris" in back and "France" in back

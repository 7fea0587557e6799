"""Adding notes: the pickers offer the store's note types and decks; ctrl+s adds through
`notes.add` and leaves the form ready for the next note with the tags kept."""

from __future__ import annotations

import pytest

from flipdeck.store import cards, decks, notes, search
from flipdeck.tui.screens.add import AddScreen
from tests.tui.conftest import settle

pytestmark = pytest.mark.anyio


async def test_add_and_continue(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AddScreen)
        verbs = decks.find(app.col, "Spanish::Verbs")
        screen.query_one("#add-deck").value = verbs.id
        await pilot.pause()
        assert screen.focused is not None
        screen.query_one("#note-field-0").focus()
        await pilot.press(*"dormir", "tab", *"to sleep", "tab", *"verb irregular")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.query_one("#note-field-0").text == ""  # ready for the next one
        assert screen.query_one("#note-tags").value == "verb irregular"
        assert screen.focused is screen.query_one("#note-field-0")
        await pilot.press(*"correr", "tab", *"to run", "ctrl+s")
        await settle(pilot)
        assert "2 note(s) this time" in str(screen.query_one("#add-status").render())
    found = search.find_cards(store, "deck:Spanish::Verbs tag:irregular", now=store.now())
    values = sorted(
        sorted(notes.load(store, cards.info(store, i).note_id).fields.values()) for i in found
    )
    assert values == [["correr", "to run"], ["dormir", "to sleep"]]


async def test_an_empty_first_field_is_refused(make, store):
    app = make()
    before = len(search.find_cards(store, "", now=store.now()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert any("is empty" in n.message for n in app._notifications)
    assert len(search.find_cards(store, "", now=store.now())) == before


async def test_switching_the_note_type_shows_its_fields(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        from flipdeck.store import notetypes

        cloze = notetypes.find(app.col, "Cloze")
        screen.query_one("#add-notetype").value = cloze.id
        await settle(pilot)
        form = screen.query_one("#add-note")
        assert [f.name for f in form.notetype.fields] == [f.name for f in cloze.fields]
        form.areas()[0].text = "{{c1::Madrid}} is in Spain"
        await pilot.press("ctrl+s")
        await settle(pilot)
    found = search.find_cards(store, "Madrid", now=store.now())
    assert len(found) == 1
    assert cards.info(store, found[0]).deck == "Default"

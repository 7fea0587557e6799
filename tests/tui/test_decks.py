"""The deck list: counts as `deck list` reports them, and add / rename / delete (only after
a yes) / preset, each checked in the store."""

from __future__ import annotations

import pytest

from flipdeck.store import decks, presets, stats
from flipdeck.tui.screens.dialogs import ConfirmDialog, PresetDialog, PromptDialog
from tests.tui.conftest import settle

pytestmark = pytest.mark.anyio


async def _highlight(pilot, name: str) -> None:
    table = pilot.app.screen.query_one("#decks-table")
    table.move_cursor(row=table.get_row_index(decks.find(pilot.app.col, name).id))
    await pilot.pause()


async def test_the_table_shows_the_store_counts(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#decks-table")
        for row in stats.deck_tree(store):
            cells = [str(c) for c in table.get_row(row.deck.id)]
            assert cells[0].strip().lstrip("▾▸ ") == row.deck.parts[-1]
            assert cells[1:4] == [str(row.new), str(row.learning), str(row.review)]


async def test_create_a_child_deck(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await _highlight(pilot, "Spanish")
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)
        assert app.screen.query_one("#prompt-input").value == "Spanish::"
        await pilot.press(*"Nouns", "enter")
        await settle(pilot)
        assert app.screen.query_one("#decks-table").get_row(decks.find(store, "Spanish::Nouns").id)
    assert decks.lookup(store, "Spanish::Nouns") is not None


async def test_a_taken_name_is_an_error_not_a_crash(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await _highlight(pilot, "Default")
        await pilot.press("r")
        await settle(pilot)
        app.screen.query_one("#prompt-input").value = "Geography"
        await pilot.press("enter")
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert any("already exists" in m for m in messages)
    assert decks.lookup(store, "Default") is not None


async def test_rename_moves_the_children(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await _highlight(pilot, "Spanish")
        await pilot.press("r")
        await settle(pilot)
        app.screen.query_one("#prompt-input").value = "Español"
        await pilot.press("enter")
        await settle(pilot)
    assert decks.lookup(store, "Spanish") is None
    assert decks.lookup(store, "Español::Verbs") is not None


async def test_delete_asks_first_and_no_keeps_everything(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await _highlight(pilot, "Spanish")
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "2 deck(s) and 3 card(s)" in app.screen.question
        await pilot.press("enter")  # the focused button is Cancel: a reflex keeps the data
        await settle(pilot)
        assert decks.lookup(store, "Spanish::Verbs") is not None
        await pilot.press("delete")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    assert decks.lookup(store, "Spanish") is None
    assert decks.lookup(store, "Spanish::Verbs") is None


async def test_edit_the_preset(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await _highlight(pilot, "Geography")
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, PresetDialog)
        app.screen.query_one("#preset-new_per_day").value = "7"
        app.screen.query_one("#preset-learning_steps").value = "2m 15m"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, PresetDialog)
    preset = presets.load(store, decks.find(store, "Geography").preset_id)
    assert preset.new_per_day == 7
    assert preset.learning_steps == (2, 15)  # minutes


async def test_a_bad_preset_value_is_explained_and_nothing_saved(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await _highlight(pilot, "Geography")
        await pilot.press("p")
        await settle(pilot)
        app.screen.query_one("#preset-new_per_day").value = "lots"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PresetDialog)
        assert "not a number" in str(app.screen.query_one("#preset-error").render())
    assert presets.load(store, decks.find(store, "Geography").preset_id).new_per_day == 20


async def test_space_folds_a_parent_and_its_counts_stay(make, store):
    """A folded deck hides its children's rows; its own row still counts them."""
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await _highlight(pilot, "Spanish")
        table = app.screen.query_one("#decks-table")
        verbs = decks.find(store, "Spanish::Verbs").id
        spanish = decks.find(store, "Spanish").id
        assert verbs in {k.value for k in table.rows}
        before = [str(c) for c in table.get_row(spanish)][1:]
        await pilot.press("space")
        await settle(pilot)
        assert verbs not in {k.value for k in table.rows}
        assert str(table.get_row(spanish)[0]).strip().startswith("▸")
        assert [str(c) for c in table.get_row(spanish)][1:] == before
        await pilot.press("space")
        await settle(pilot)
        assert verbs in {k.value for k in table.rows}

"""The browser: the CLI's query language, and bulk suspend, tag, move, delete and edit on the
marked cards (or the one under the cursor), each checked in the store."""

from __future__ import annotations

import pytest

from flipdeck.store import cards, decks, notes, search
from flipdeck.tui.screens.browse import BrowseScreen
from flipdeck.tui.screens.dialogs import ChoiceDialog, ConfirmDialog, PromptDialog
from tests.tui.conftest import screen_text, settle

pytestmark = pytest.mark.anyio


async def _browse(pilot, query: str | None = None) -> BrowseScreen:
    await pilot.press("b")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, BrowseScreen)
    if query is not None:
        await pilot.press("slash")
        screen.query_one("#browse-search").value = query
        await pilot.press("enter")
        await settle(pilot)
    return screen


def _ids(store, query: str) -> list[str]:
    return search.find_cards(store, query, now=store.now())


async def test_lists_what_the_query_language_finds(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _browse(pilot)
        assert screen.grid.ids == _ids(store, "")
        assert len(screen.grid.ids) == 6
        screen = await _browse(pilot, "deck:Spanish tag:verb")
        assert screen.grid.ids == _ids(store, "deck:Spanish tag:verb")
        assert len(screen.grid.ids) == 3
        assert screen.focused is screen.grid


async def test_a_bad_query_is_explained_and_the_list_stays(make):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _browse(pilot, "deck:Geography")
        before = list(screen.grid.ids)
        await pilot.press("slash")
        screen.query_one("#browse-search").value = "(deck:x"
        await pilot.press("enter")
        await settle(pilot)
        assert screen.grid.ids == before
        assert str(screen.query_one("#browse-status").render()).strip()
        assert "card(s)" not in str(screen.query_one("#browse-status").render())


async def test_bulk_suspend_the_marked_cards(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _browse(pilot, "deck:Spanish")
        first, second, third = screen.grid.ids
        await pilot.press("space", "space")  # marks the first two, the cursor moving down
        assert screen.grid.selection() == [first, second]
        await pilot.press("s")
        await settle(pilot)
        assert screen.grid.marked == set()
    assert [cards.info(store, i).suspended for i in (first, second, third)] == [
        True,
        True,
        False,
    ]


async def test_suspend_on_a_suspended_card_resumes(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _browse(pilot, "deck:Spanish")
        card_id = screen.grid.current_id
        await pilot.press("s")
        await settle(pilot)
        assert cards.info(store, card_id).suspended
        assert screen.grid.current_id == card_id
        await pilot.press("s")
        await settle(pilot)
    assert not cards.info(store, card_id).suspended


async def test_tag_adds_and_removes(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _browse(pilot, "deck:Spanish")
        await pilot.press("ctrl+a", "g")
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*"irregular -verb", "enter")
        await settle(pilot)
        chosen = list(screen.grid.ids)
    for card_id in chosen:
        assert notes.load(store, cards.info(store, card_id).note_id).tags == ("irregular",)


async def test_move_to_another_deck(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _browse(pilot, "deck:Geography")
        moved = list(screen.grid.ids)
        await pilot.press("ctrl+a", "m")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        names = [label for label, _v in dialog.choices]
        dialog.query_one("#choice-list").highlighted = names.index("Default")
        await pilot.press("enter")
        await settle(pilot)
        assert screen.grid.ids == []  # no card is in Geography any more
    default = decks.find(store, "Default")
    assert {cards.info(store, i).deck_id for i in moved} == {default.id}


async def test_delete_after_confirmation(make, store):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _browse(pilot, "deck:Spanish")
        doomed = screen.grid.current_id
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert doomed in _ids(store, "")
        await pilot.press("delete", "y")
        await settle(pilot)
        assert doomed not in screen.grid.ids
    assert doomed not in _ids(store, "")
    assert len(_ids(store, "deck:Spanish")) == 2


async def test_edit_in_the_pane(make, store):
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _browse(pilot, "deck:Spanish")
        card_id = screen.grid.current_id
        await pilot.press("e")
        await settle(pilot)
        screen.query_one("#note-field-0").text = "hablar (v.)"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.editing is None
        assert "hablar (v.)" in screen_text(app)  # in the table and the preview
    note = notes.load(store, cards.info(store, card_id).note_id)
    assert "hablar (v.)" in note.fields.values()


async def test_the_grid_reads_only_the_rows_it_draws(make):
    """The table fetches rows lazily: after drawing, only the visible rows were read."""
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _browse(pilot)
        grid = screen.grid
        grid.show(grid.ids * 5000)  # 30,000 entries
        await settle(pilot)
        assert len(grid._rows) <= 6  # six distinct cards behind the repeated ids
        await pilot.press("end")
        await settle(pilot)
        assert grid.cursor == 29_999


async def test_a_click_moves_the_cursor_and_the_preview_follows(make):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _browse(pilot, "deck:Spanish")
        third = screen.grid.ids[2]
        await pilot.click("#browse-grid", offset=(5, 3))  # line 0 is the header
        await settle(pilot)
        assert screen.grid.current_id == third
        preview = screen_text(app).split("\n")[14:]  # below the table: the preview pane
        assert any("to live" in line for line in preview)

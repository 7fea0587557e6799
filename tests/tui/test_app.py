"""The shell: navigation by key and by mouse, the help overlay, the command palette, themes,
and what opening the app does with a bad collection or deck name."""

from __future__ import annotations

import json

import pytest

from flipdeck.core.errors import CollectionUnavailable, NotFound
from flipdeck.store import decks, reviews
from flipdeck.tui import make_app
from flipdeck.tui.screens.dialogs import HelpDialog
from flipdeck.tui.screens.study import StudyScreen
from tests.tui.conftest import screen_text, settle

pytestmark = pytest.mark.anyio


async def test_keys_switch_screens_and_keep_each_screens_state(make):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        for key, mode in (("b", "browse"), ("a", "add"), ("t", "stats"), ("y", "sync")):
            await pilot.press(key)
            await settle(pilot)
            assert app.current_mode == mode
        await pilot.press("d")
        assert app.current_mode == "decks"


async def test_the_mouse_works(make, store):
    """A click on the bar opens a screen; a click on a deck row studies it; a click on an
    answer button answers."""
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.click("NavItem", offset=(2, 0))  # the first item: Decks
        await settle(pilot)
        table = app.screen.query_one("#decks-table")
        row = table.get_row_index(decks.find(app.col, "Geography").id)
        await pilot.click("#decks-table", offset=(3, row + 1))  # +1: the header line
        await settle(pilot)
        await pilot.click("#decks-table", offset=(3, row + 1))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StudyScreen) and screen.deck.name == "Geography"
        await pilot.click("#answer-reveal")
        await settle(pilot)
        card_id = screen.session.current.id
        await pilot.click("#answer-4")
        await settle(pilot)
    assert [e.rating for e in reviews.events(store, card_id)] == [4]


async def test_help_lists_the_keys_of_the_screen(make):
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:  # at 80×24 the list scrolls
        await pilot.press("enter")  # study the first deck (Default is empty: the summary)
        await settle(pilot)
        await pilot.press("escape", "question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpDialog)
        text = screen_text(app)
        for words in ("New deck", "Rename", "Delete", "Preset", "Fold", "Command palette"):
            assert words in text
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, HelpDialog)


async def test_the_command_palette_studies_a_deck(make):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Study Geography")
        await settle(pilot)
        await pilot.pause(0.3)  # the palette searches in the background
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, StudyScreen)
        assert app.screen.deck.name == "Geography"


async def test_the_theme_toggle_is_remembered(make, hermetic):
    app = make()
    async with app.run_test(size=(80, 24)):
        assert app.theme == "flipdeck-dark"
        app.action_toggle_light()
        assert app.theme == "flipdeck-light"
    assert json.loads((hermetic / "tui.json").read_text())["theme"] == "flipdeck-light"
    again = make(theme=None)
    assert again.theme == "flipdeck-light"
    again.col.close()


def test_a_damaged_collection_is_refused_before_drawing(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(CollectionUnavailable):
        make_app(bad)


def test_an_unknown_deck_is_refused_before_drawing(collection_path):
    with pytest.raises(NotFound):
        make_app(collection_path, study="Klingon")


async def test_start_studying_at_once(make):
    app = make(study="Spanish")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, StudyScreen)
        assert app.screen.session.current is not None


@pytest.mark.parametrize("key", ["d", "b", "a", "t", "y"])
async def test_every_screen_has_help(make, key):
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(key)
        await settle(pilot)
        screen = app.screen
        app.action_help()
        await settle(pilot)
        assert isinstance(app.screen, HelpDialog)
        assert app.screen.about == screen.HELP and screen.HELP
        assert app.screen.keys  # each screen has keys of its own


def test_an_unknown_theme_is_refused_before_drawing(collection_path):
    from flipdeck.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        make_app(collection_path, theme="solarised-purple")
    assert "flipdeck-light" in refused.value.hint

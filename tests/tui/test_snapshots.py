"""Every screen at 80×24 (the smallest terminal the app promises to be readable in) and at
120×40 (where the browser and statistics use the room side by side), on the fixed collection
and clock, so any change to what a user sees shows up as a changed SVG."""

from __future__ import annotations

import pytest

from flipdeck.store import reviews, search
from flipdeck.store.collection import Collection
from tests.tui.conftest import settle
from tests.tui.snapshots import assert_snapshot

pytestmark = pytest.mark.anyio

SIZES = [(80, 24), (120, 40)]


def _history(path, clock) -> None:
    """A few weeks of answers, so the statistics have something to draw."""
    start = clock.ms
    clock.advance(days=-60)
    with Collection.open(path, now=clock) as col:
        ids = search.find_cards(col, "deck:Spanish", now=col.now())
        for day in range(0, 60, 3):
            with col.transaction():
                for card_id in ids[: 1 + day % 3]:
                    reviews.answer(col, card_id, 3 if day % 4 else 2, at=clock(), duration_ms=900)
            clock.advance(days=3)
    clock.ms = start


async def _open_deck(pilot, name: str) -> None:
    from flipdeck.store import decks

    table = pilot.app.screen.query_one("#decks-table")
    table.move_cursor(row=table.get_row_index(decks.find(pilot.app.col, name).id))
    await pilot.press("enter")
    await settle(pilot)


async def _decks(pilot):
    await settle(pilot)


async def _study_front(pilot):
    await _open_deck(pilot, "Spanish::Verbs")


async def _study_back(pilot):
    await _open_deck(pilot, "Spanish::Verbs")
    await pilot.press("space")


async def _study_typed(pilot):
    await _open_deck(pilot, "Geography")
    while pilot.app.screen.query_one("#study-typed").display is False:
        await pilot.press("space", "4")
        await settle(pilot)
    await pilot.press(*"Roma", "enter")


async def _study_done(pilot):
    await _open_deck(pilot, "Spanish::Verbs")
    for rating in "431":
        await pilot.press("space", rating)
        await settle(pilot)
    while pilot.app.screen.phase != "done":
        await pilot.press("space", "4")
        await settle(pilot)


async def _study_edit(pilot):
    await _open_deck(pilot, "Spanish::Verbs")
    await pilot.press("space", "e")


async def _browse_edit(pilot):
    await pilot.press("b")
    await settle(pilot)
    await pilot.press("e")


async def _browse(pilot):
    await pilot.press("b")
    await settle(pilot)
    await pilot.press("down", "space")


async def _add(pilot):
    await pilot.press("a")
    await settle(pilot)


async def _stats(pilot):
    await pilot.press("t")
    await settle(pilot)


async def _sync(pilot):
    await pilot.press("y")
    await settle(pilot)


async def _help(pilot):
    await _open_deck(pilot, "Spanish::Verbs")
    await pilot.press("question_mark")


async def _confirm(pilot):
    await pilot.press("down", "down", "delete")


async def _preset(pilot):
    await pilot.press("down", "p")


SCREENS = {
    "decks": _decks,
    "study-front": _study_front,
    "study-back": _study_back,
    "study-typed": _study_typed,
    "study-done": _study_done,
    "study-edit": _study_edit,
    "browse": _browse,
    "browse-edit": _browse_edit,
    "add": _add,
    "stats": _stats,
    "sync": _sync,
    "help": _help,
    "confirm": _confirm,
    "preset": _preset,
}


@pytest.fixture
def no_keyring(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
async def test_screen(screen, size, make, collection_path, clock, tmp_path, no_keyring):
    _history(collection_path, clock)
    app = make()
    async with app.run_test(size=size) as pilot:
        await SCREENS[screen](pilot)
        await assert_snapshot(pilot, f"{screen}-{size[0]}x{size[1]}", tmp_path)


async def test_light_theme(make, collection_path, clock, tmp_path):
    """The light theme, whose colours are all xterm-256 entries, on the busiest screen."""
    _history(collection_path, clock)
    app = make(theme="flipdeck-light")
    async with app.run_test(size=(80, 24)) as pilot:
        await _study_back(pilot)
        await assert_snapshot(pilot, "study-back-light-80x24", tmp_path)

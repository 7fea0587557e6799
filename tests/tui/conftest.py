"""TUI fixtures: a small collection with fixed content on a fixed clock, and the app built by
the same factory `flipdeck tui` uses. Everything that could differ between runs is pinned:
the clock, the time zone, the theme, the terminal size, and the cursor blink (off)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FakeClock

SPANISH = [("hablar", "to speak"), ("comer", "to eat"), ("vivir", "to live")]


class SequentialIds:
    """UUIDv7-shaped ids from a counter: card ids seed FSRS's fuzz, so fixed ids make due
    dates (and the snapshots showing them) the same on every run."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"01900000-0000-7000-8000-{self.n:012x}"


def build_collection(path: Path, clock: FakeClock) -> Path:
    """Decks Spanish::Verbs (three Basic notes), Geography (a two-cloze note and a type-in
    note), and the empty Default deck."""
    from flipdeck.store import config, decks, notes, notetypes
    from flipdeck.store.collection import Collection

    with Collection.open(path, now=clock) as col, col.transaction():
        col.new_id = SequentialIds()  # this connection only: the store takes ids from it
        config.set_value(col, "timezone", "UTC")
        verbs = decks.create(col, "Spanish::Verbs")
        geo = decks.create(col, "Geography")
        basic = notetypes.find(col, "Basic")
        for front, back in SPANISH:
            notes.add(col, basic, verbs.id, [front, back], ["verb"])
        cloze = notetypes.find(col, "Cloze")
        notes.add(col, cloze, geo.id, ["{{c1::Paris}} is the capital of {{c2::France}}", ""])
        typed = notetypes.find(col, "Basic (type in the answer)")
        notes.add(col, typed, geo.id, ["Capital of Italy?", "Rome"])
    return path


@pytest.fixture
def collection_path(tmp_path, clock) -> Path:
    """The fixed collection, closed, on disk."""
    return build_collection(tmp_path / "collection.db", clock)


@pytest.fixture
def make(collection_path, clock):
    """``make(**options)``: the app on the fixed collection, dark theme, the test's clock."""
    from flipdeck.tui import make_app

    def factory(**options):
        options.setdefault("theme", "flipdeck-dark")
        options.setdefault("now", clock)
        return make_app(collection_path, **options)

    return factory


@pytest.fixture
def store(collection_path, clock):
    """A second connection to the same file, for asserting what the store holds."""
    from flipdeck.store.collection import Collection

    col = Collection.open(collection_path, now=clock)
    yield col
    col.close()


async def settle(pilot) -> None:
    """Wait until workers are done and the screen has caught up with every message."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.fixture
def anyio_backend():
    """Pilot tests run on asyncio (textual's loop), through anyio's pytest plugin."""
    return "asyncio"


def screen_text(app) -> str:
    """The characters on the terminal right now (no colours), as a user would read them."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), color_system=None, record=True
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()

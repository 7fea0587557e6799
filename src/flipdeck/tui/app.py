"""Provides :class:`FlipdeckApp`, the shell of the TUI (one collection, one mode per screen,
the global keys, themes and the command palette), and :func:`make_app`, the one factory that
`flipdeck tui`, the tests and the benchmark all use.

The app holds the open collection; screens read it through :attr:`FlipdeckApp.col` and act
through store functions only. A sync runs in a thread worker on its own connection; when it
has written, the app reopens the collection and tells every screen (``CollectionReplaced``).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from flipdeck.core.errors import InvalidInput
from flipdeck.store.collection import Collection, checkpoint
from flipdeck.tui import prefs
from flipdeck.tui.messages import CollectionReplaced
from flipdeck.tui.screens.add import AddScreen
from flipdeck.tui.screens.browse import BrowseScreen
from flipdeck.tui.screens.decks import DecksScreen
from flipdeck.tui.screens.dialogs import HelpDialog
from flipdeck.tui.screens.stats import StatsScreen
from flipdeck.tui.screens.study import StudyScreen
from flipdeck.tui.screens.sync import SyncScreen
from flipdeck.tui.themes import DARK, LIGHT, THEMES

CHECKPOINT_EVERY_S = 2.0
"""How often the WAL is copied into the file in the background (a no-op when nothing new)."""


class FlipdeckApp(App):
    """The flipdeck TUI on the collection at ``path``."""

    CSS_PATH = "app.tcss"
    TITLE = "flipdeck"
    MODES = {
        "decks": DecksScreen,
        "browse": BrowseScreen,
        "add": AddScreen,
        "stats": StatsScreen,
        "sync": SyncScreen,
    }
    DEFAULT_MODE = "decks"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    """Below 110 columns the browser stacks its preview under the table, and so on."""
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    """Below 32 rows dialogs scroll their bodies sooner, so their buttons stay in view."""
    BINDINGS = [
        Binding("d", "switch_mode('decks')", "Decks", id="app.decks", show=False),
        Binding("b", "switch_mode('browse')", "Browse", id="app.browse", show=False),
        Binding("a", "switch_mode('add')", "Add", id="app.add", show=False),
        Binding("t", "switch_mode('stats')", "Stats", id="app.stats", show=False),
        Binding("y", "switch_mode('sync')", "Sync", id="app.sync", show=False),
        Binding("question_mark", "help", "Help", id="app.help", key_display="?"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", show=False, priority=True),
    ]

    def __init__(
        self,
        path: Path,
        *,
        now: Callable[[], int] | None = None,
        client_factory: Callable[[Any], Any] | None = None,
        theme: str | None = None,
        study: str | bool | None = None,
    ) -> None:
        super().__init__()
        self.path = path
        self.now = now
        """The clock every connection the app opens uses (fixed in tests)."""
        self.client_factory = client_factory
        """Builds the sync client for an account (the real ``ServerClient`` by default)."""
        self.col = self._open()
        self.start_study = study
        """Open a study session at once: ``True`` for every deck, or a deck's name."""
        self.start_deck = None
        for item in THEMES:
            self.register_theme(item)
        try:  # a wrong deck or theme name fails here, before anything is drawn
            if isinstance(study, str):
                from flipdeck.store import decks

                self.start_deck = decks.find(self.col, study)
            if theme is not None and theme not in self.available_themes:
                raise InvalidInput(
                    f"no theme named {theme!r}",
                    hint=f"Themes: {', '.join(sorted(self.available_themes))}.",
                )
        except BaseException:
            self.col.close()
            raise
        self.theme = prefs.initial_theme(self.available_themes, theme)

    def on_mount(self) -> None:
        if self.start_study:
            self.push_screen(StudyScreen(self.start_deck))
        self.call_after_refresh(self._freeze_startup_objects)
        self.set_interval(CHECKPOINT_EVERY_S, self._checkpoint)

    def _open(self) -> Collection:
        """The app's connection, whose commits never checkpoint the WAL (see
        ``_checkpoint``)."""
        col = Collection.open(self.path, now=self.now)
        col.defer_checkpoints()
        return col

    def _checkpoint(self) -> None:
        """Copy the WAL into the file in a thread, off the key-press path: inside a commit
        it stalled every thousandth-page answer by 100–150 ms."""
        self.run_worker(
            partial(checkpoint, self.path), thread=True, group="checkpoint", exclusive=True
        )

    @staticmethod
    def _freeze_startup_objects() -> None:
        """Move everything alive after start-up (textual's stylesheet and widgets, the
        collection's caches: ~100k long-lived objects) out of the garbage collector's sight.
        Otherwise every full collection rescans them, a 30–65 ms pause that lands in the
        middle of a key press every few dozen cards."""
        gc.freeze()

    def on_unmount(self) -> None:
        self.col.close()

    def watch_theme(self, theme: str) -> None:
        """Remember the theme the user picked (not one a test or ``TEXTUAL_THEME`` forced)."""
        if self.is_running and theme in (DARK.name, LIGHT.name):
            prefs.save(theme=theme)

    # -- the collection -----------------------------------------------------------------------

    def reopen(self) -> None:
        """Reopen the collection (another connection wrote to it: a sync) and tell every
        screen, in every mode, to read afresh."""
        old = self.col
        self.col = self._open()
        old.close()
        for stack in self._screen_stacks.values():
            for screen in stack:
                screen.post_message(CollectionReplaced())

    # -- global actions -----------------------------------------------------------------------

    def action_help(self) -> None:
        """The `?` overlay for the screen on top: its purpose and its keys."""
        screen = self.screen
        if isinstance(screen, HelpDialog):
            return
        keys = []
        seen = set()
        # flipdeck's own keys (they all have ids): the screen's first, then its widgets';
        # the app's are summed up by the dialog, textual's cursor keys go without saying
        for key, item in sorted(
            screen.active_bindings.items(), key=lambda pair: pair[1].node is not screen
        ):
            binding = item.binding
            ours = binding.id is not None and not binding.id.startswith("app.")
            if not ours or not binding.description or binding.description in seen:
                continue
            seen.add(binding.description)
            keys.append((binding.key_display or key, binding.description))
        title = type(screen).__name__.removesuffix("Screen")
        self.push_screen(HelpDialog(title, getattr(screen, "HELP", "") or "", keys))

    def action_toggle_light(self) -> None:
        """Switch between flipdeck's dark and light themes."""
        self.theme = LIGHT.name if self.theme != LIGHT.name else DARK.name

    def study(self, deck_name: str | None) -> None:
        """Study a deck (``None``: every deck) from wherever the user is."""
        from flipdeck.store import decks

        deck = decks.find(self.col, deck_name) if deck_name else None
        self.switch_mode("decks")
        self.push_screen(StudyScreen(deck))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette: screens, studying any deck, light/dark, then textual's own."""
        from flipdeck.store import decks
        from flipdeck.tui.widgets.shell.nav import SECTIONS

        for mode, key, label in SECTIONS:
            yield SystemCommand(
                f"Go to {label}", f"Open the {label} screen (key {key})", self._switch(mode)
            )
        yield SystemCommand("Study all decks", "Study every due card", lambda: self.study(None))
        for deck in decks.all_decks(self.col):
            yield SystemCommand(
                f"Study {deck.name}",
                "Study this deck and its children",
                lambda name=deck.name: self.study(name),
                discover=False,
            )
        yield SystemCommand(
            "Toggle light/dark",
            "Switch between flipdeck's light and dark themes",
            self.action_toggle_light,
        )
        yield SystemCommand("Help", "Keys of this screen", self.action_help)
        yield from super().get_system_commands(screen)

    def _switch(self, mode: str) -> Callable[[], None]:
        return lambda: self.switch_mode(mode)


def make_app(
    path: Path | str | None = None,
    *,
    now: Callable[[], int] | None = None,
    client_factory: Callable[[Any], Any] | None = None,
    theme: str | None = None,
    study: str | bool | None = None,
) -> FlipdeckApp:
    """The app on the collection at ``path`` (the user's collection by default).

    Opening the collection happens here, so a locked or damaged file raises the store's
    ``CollectionUnavailable`` before any screen is drawn and the CLI reports it as usual.
    """
    if path is None:
        from flipdeck.paths import collection_path

        path = collection_path()
    if client_factory is None:
        from flipdeck.tui.jobs import default_client

        client_factory = default_client
    return FlipdeckApp(Path(path), now=now, client_factory=client_factory, theme=theme, study=study)

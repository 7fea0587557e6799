"""Provides :class:`FlipdeckScreen`, the frame every main screen shares (navigation bar on
top, footer of keys below), and the one place a store error becomes a notification."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from flipdeck.core.errors import FlipdeckError
from flipdeck.tui.widgets.shell.nav import NavBar

if TYPE_CHECKING:
    from flipdeck.store.collection import Collection
    from flipdeck.tui.app import FlipdeckApp


class FlipdeckScreen(Screen):
    """A main screen: subclasses give :meth:`compose_body` and their :attr:`MODE`."""

    MODE: ClassVar[str] = ""
    """The mode (navigation item) this screen belongs to."""

    app: FlipdeckApp

    @property
    def col(self) -> Collection:
        """The app's open collection (replaced after a sync, so never keep a reference)."""
        return self.app.col

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the navigation bar and the footer."""
        yield from ()

    def report(self, error: FlipdeckError) -> None:
        """Show a store error the way the CLI would word it, as an error notification."""
        text = error.message + (f"\n{error.hint}" if error.hint else "")
        self.notify(text, severity="error", title="Not done")

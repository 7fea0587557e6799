"""Provides :class:`HelpDialog`, the `?` overlay: what the screen below is for and every key
that works there, read from the live bindings so it never goes stale."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

GLOBAL_KEYS = (
    ("d b a t y", "Decks, Browse, Add, Stats, Sync"),
    ("ctrl+p", "Command palette (themes, decks to study, screens)"),
    ("tab / shift+tab", "Move between fields and lists"),
    ("ctrl+q", "Quit"),
)


class HelpDialog(ModalScreen[None]):
    """Shows ``about`` (the screen's HELP text) and ``keys`` as (key, what it does) rows."""

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="help.close")]

    def __init__(self, title: str, about: str, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.about = about
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key, description in [*self.keys, *GLOBAL_KEYS]:
            table.add_row(key, description)
        with Vertical(classes="dialog--box dialog--wide", id="help-box"):
            yield Static(f"{self.title_text} — keys", classes="dialog--title")
            with VerticalScroll(id="help-body"):
                if self.about:
                    yield Static(Text(self.about), classes="dialog--text")
                yield Static(table)
            yield Static("Escape or ? closes", classes="dialog--hint")

    def action_close(self) -> None:
        self.dismiss(None)

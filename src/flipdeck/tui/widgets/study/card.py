"""Provides :class:`CardView`: one side of a card, drawn from its HTML with the same spans the
CLI prints (cloze, code, the type-in comparison), with a header line naming deck and flag."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from flipdeck.tui.render import rich_text

FLAG_NAMES = {
    0: "none",
    1: "red",
    2: "orange",
    3: "green",
    4: "blue",
    5: "pink",
    6: "turquoise",
    7: "purple",
}
FLAG_STYLES = {
    1: "red",
    2: "dark_orange",
    3: "green",
    4: "blue",
    5: "hot_pink",
    6: "cyan",
    7: "purple",
}


class CardView(VerticalScroll):
    """Scrolls when a card is taller than the room; :meth:`show` replaces what it shows."""

    def compose(self) -> ComposeResult:
        yield Static(id="card-meta")
        yield Static(id="card-text")

    def show(self, html: str, *, deck: str = "", label: str = "", flag: int = 0) -> None:
        """Draw ``html``; the meta line names the deck, the card and the flag."""
        meta = Text(deck, style="dim")
        if label:
            meta.append(f" · {label}", style="dim")
        if flag:
            meta.append(f"  ⚑ {FLAG_NAMES[flag]}", style=FLAG_STYLES[flag])
        self.query_one("#card-meta", Static).update(meta)
        self.query_one("#card-text", Static).update(rich_text(html))
        self.scroll_home(animate=False)

    def show_text(self, text: Text | str) -> None:
        """Draw a message instead of a card."""
        self.query_one("#card-meta", Static).update("")
        self.query_one("#card-text", Static).update(text)

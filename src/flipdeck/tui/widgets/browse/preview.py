"""Provides :class:`CardPreview`: the browser's right-hand (or lower) pane, showing the card
under the cursor front and back, with its deck, state and tags."""

from __future__ import annotations

from rich.console import Group
from rich.rule import Rule
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from flipdeck.core.errors import FlipdeckError
from flipdeck.store import cards
from flipdeck.tui.render import rich_text


class CardPreview(VerticalScroll):
    """Scrolls when the card is long; :meth:`show` draws a card, ``None`` clears it."""

    def compose(self):
        yield Static(id="preview-text")

    def show(self, col, card_id: str | None) -> None:
        """Draw the card ``card_id`` of ``col``."""
        body = self.query_one("#preview-text", Static)
        if card_id is None:
            body.update(Text("No card matches.", style="dim"))
            return
        try:
            card = cards.info(col, card_id)
            front, back = cards.faces(col, card)
        except FlipdeckError as error:
            body.update(Text(error.message, style="dim"))
            return
        meta = Text(f"{card.deck} · {cards.label(col, card)} · {cards.state_name(card.state)}")
        meta.stylize("dim")
        if card.suspended:
            meta.append("  suspended", style="yellow")
        tags = Text("tags: " + (" ".join(card.tags) or "–"), style="dim")
        body.update(Group(meta, rich_text(front), Rule(style="dim"), rich_text(back), tags))
        self.scroll_home(animate=False)

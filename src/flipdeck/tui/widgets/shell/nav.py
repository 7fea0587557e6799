"""Provides :class:`NavBar`, the top line of every screen: the app's name and one clickable
item per screen, the current one highlighted, each with the key that opens it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

SECTIONS = (
    ("decks", "d", "Decks"),
    ("browse", "b", "Browse"),
    ("add", "a", "Add"),
    ("stats", "t", "Stats"),
    ("sync", "y", "Sync"),
)
"""(mode, key, label) of each screen, in the order the bar shows them."""


class NavItem(Static):
    """One item of the bar; a click runs its app action, as its key does."""

    def __init__(self, action: str, key: str, label: str, *, active: bool = False) -> None:
        super().__init__(f"[b]{key}[/b] {label}", classes="-active" if active else "")
        self.action = action

    async def on_click(self) -> None:
        await self.app.run_action(self.action)


class NavBar(Horizontal):
    """The navigation bar; ``active`` is the mode of the screen it sits on."""

    def __init__(self, active: str) -> None:
        super().__init__()
        self.active = active

    def compose(self) -> ComposeResult:
        yield Static("flipdeck", id="nav-title")
        for mode, key, label in SECTIONS:
            yield NavItem(f"switch_mode('{mode}')", key, label, active=mode == self.active)
        yield NavItem("help", "?", "Help", active=False)

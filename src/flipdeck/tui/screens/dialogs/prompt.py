"""Provides :class:`PromptDialog`: one line of text (a deck name, tags)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class PromptDialog(ModalScreen[str | None]):
    """Asks for a line of text; Enter answers it (stripped), Escape answers ``None``."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, title: str, value: str = "", *, placeholder: str = "") -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog--box"):
            yield Static(self.title_text, classes="dialog--title")
            yield Input(
                self.value, placeholder=self.placeholder, id="prompt-input", select_on_focus=False
            )
            yield Static("Enter to confirm · Escape to cancel", classes="dialog--hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)

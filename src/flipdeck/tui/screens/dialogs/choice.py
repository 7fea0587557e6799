"""Provides :class:`ChoiceDialog`: pick one of a list (a deck to move cards to, a flag)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class ChoiceDialog(ModalScreen[Any]):
    """Lists ``choices`` as (label, value); Enter or a click answers the value. A choice whose
    label starts with ``"N "`` (a digit and a space) can also be picked by pressing N."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel")]

    def __init__(self, title: str, choices: Sequence[tuple[str, Any]], current: Any = None):
        super().__init__(classes="dialog")
        self.title_text = title
        self.choices = list(choices)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog--box"):
            yield Static(self.title_text, classes="dialog--title")
            yield OptionList(
                *(Option(label, id=str(i)) for i, (label, _v) in enumerate(self.choices)),
                id="choice-list",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        values = [value for _label, value in self.choices]
        if self.current in values:
            options.highlighted = values.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[int(event.option.id or 0)][1])

    def on_key(self, event) -> None:
        if event.character and event.character.isdigit():
            for label, value in self.choices:
                if label.startswith(f"{event.character} "):
                    event.stop()
                    self.dismiss(value)
                    return

    def action_cancel(self) -> None:
        self.dismiss(None)

"""Provides :class:`AnswerBar`: "Show answer" on the front, then the four answer buttons,
each labelled with the interval it would give. The buttons take no focus, so Space and Enter
always mean reveal / Good, as in Anki, wherever the mouse last clicked."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button

NAMES = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
_VARIANTS = {1: "error", 2: "warning", 3: "success", 4: "primary"}


class AnswerBar(Horizontal):
    """The buttons under the card; :meth:`show_front` and :meth:`show_choices` switch them."""

    def compose(self) -> ComposeResult:
        reveal = Button("Show answer  space", id="answer-reveal", variant="primary")
        reveal.can_focus = False
        yield reveal
        for rating, name in NAMES.items():
            button = Button(name, id=f"answer-{rating}", variant=_VARIANTS[rating])
            button.can_focus = False
            yield button

    def show_front(self) -> None:
        """Only "Show answer"."""
        self._reveal(False)

    def show_choices(self, labels: dict[int, str]) -> None:
        """The four answers, each with its key and the interval ``labels`` gives it."""
        for rating, name in NAMES.items():
            self.query_one(
                f"#answer-{rating}", Button
            ).label = f"{rating} {name} · {labels.get(rating, '?')}"
        self._reveal(True)

    def _reveal(self, revealed: bool) -> None:
        # display flags, not a class: a class restyles the whole bar on every card
        self.query_one("#answer-reveal", Button).display = not revealed
        for rating in NAMES:
            self.query_one(f"#answer-{rating}", Button).display = revealed

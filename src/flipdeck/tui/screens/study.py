"""Provides :class:`StudyScreen`: one study session, as `flipdeck study` runs it, with keys.

Space (or Enter) reveals; on the answer side Space/Enter is Good and 1–4 answer, each button
showing the interval it gives. Undo, bury, suspend, flag and edit in place work on either
side; every action goes through :class:`~flipdeck.store.session.StudySession`, which commits
each one, so leaving at any moment keeps every answer.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, ProgressBar, Static

from flipdeck.core.errors import FlipdeckError
from flipdeck.core.scheduling import NEW, REVIEW
from flipdeck.store import cards, notes, notetypes
from flipdeck.store.decks import Deck
from flipdeck.store.queue import Queue
from flipdeck.store.session import StudySession
from flipdeck.tui.messages import CollectionReplaced
from flipdeck.tui.screens.base import FlipdeckScreen
from flipdeck.tui.screens.dialogs import ChoiceDialog
from flipdeck.tui.widgets.note.form import NoteForm
from flipdeck.tui.widgets.study.answers import AnswerBar
from flipdeck.tui.widgets.study.card import FLAG_NAMES, CardView
from flipdeck.tui.widgets.study.summary import one_line, summary_text

_ALLOWED = {
    "primary": {"front", "back"},
    "answer": {"back"},
    "undo": {"front", "back", "done"},
    "bury": {"front", "back"},
    "suspend": {"front", "back"},
    "flag": {"front", "back"},
    "edit": {"front", "back"},
    "save_edit": {"edit"},
}
_COUNT_STYLES = {"new": "$primary", "learning": "$error", "review": "$success"}
"""Anki's colours for the three counts: new blue, learning red, review green."""


class StudyScreen(FlipdeckScreen):
    """Studies ``deck`` and its children (every deck when ``deck`` is ``None``)."""

    MODE = "decks"
    HELP = (
        "Study the cards due today. Space shows the answer; then 1 Again, 2 Hard, 3 Good, "
        "4 Easy (Space or Enter = Good). On type-in cards, type the answer and press Enter: "
        "the back shows what you typed against the answer."
    )
    BINDINGS = [
        Binding("space,enter", "primary", "Show/Good", id="study.primary", key_display="space"),
        Binding("1", "answer(1)", "Again", id="study.again", show=False),
        Binding("2", "answer(2)", "Hard", id="study.hard", show=False),
        Binding("3", "answer(3)", "Good", id="study.good", show=False),
        Binding("4", "answer(4)", "Easy", id="study.easy", show=False),
        Binding("u,ctrl+z", "undo", "Undo", id="study.undo"),
        Binding("b,minus", "bury", "Bury", id="study.bury"),
        Binding("s,at", "suspend", "Suspend", id="study.suspend"),
        Binding("f", "flag", "Flag", id="study.flag"),
        Binding("e", "edit", "Edit", id="study.edit"),
        Binding("ctrl+s", "save_edit", "Save", id="study.save"),
        Binding("escape", "back", "Back", id="study.back", show=False),
    ]

    def __init__(self, deck: Deck | None = None) -> None:
        super().__init__()
        self.deck = deck
        self.session: StudySession | None = None
        self.phase = "front"
        """``front``, ``back``, ``edit`` (the note form replaces the card) or ``done``."""
        self.typed: str | None = None
        self._editing_from = "front"

    def compose_body(self) -> ComposeResult:
        with Vertical(id="study"):
            yield Static(id="study-counts")
            yield ProgressBar(id="study-progress", show_eta=False)
            yield CardView(id="study-card")
            yield Input(placeholder="Type the answer, then Enter", id="study-typed")
            yield AnswerBar(id="study-answers")

    def on_mount(self) -> None:
        self.session = StudySession(self.col, self.deck)
        self.show_next()

    # -- drawing ------------------------------------------------------------------------------

    def set_phase(self, phase: str) -> None:
        """Show what ``phase`` shows. Widgets are shown and hidden directly rather than by a
        class on the screen: a screen class restyles every widget (~80 ms per card on a
        loaded machine), a ``display`` flag only the one it is set on. Keys not allowed in a
        phase are refused by :meth:`check_action` when pressed, whatever the footer shows."""
        studying = ("front", "back")
        same_keys = phase in studying and self.phase in studying
        self.phase = phase
        self.card_view.display = phase != "edit"
        self.query_one(AnswerBar).display = phase in studying
        if not same_keys:  # the footer is rebuilt on each refresh: only when its keys change
            self.refresh_bindings()

    def show_next(self) -> None:
        """Show the next card's front, or the summary when nothing more is due."""
        assert self.session is not None
        card = self.session.next_card()
        self.typed = None
        if card is None:
            self.show_done()
            return
        self.draw_counts()
        front, _back = cards.faces(self.col, card)
        self.card_view.show(
            front, deck=card.deck, label=cards.label(self.col, card), flag=card.flag
        )
        self.query_one(AnswerBar).show_front()
        typed = self.query_one("#study-typed", Input)
        typed.value = ""
        typed.display = cards.type_in_field(self.col, card) is not None
        self.set_phase("front")
        (typed if typed.display else self.card_view).focus()

    def draw_counts(self) -> None:
        """The counts line (the current card's kind underlined, as in Anki) and progress."""
        assert self.session is not None
        counts = self.session.counts()
        card = self.session.current
        kind = (
            None
            if card is None
            else {NEW: "new", REVIEW: "review"}.get(card.state.state, "learning")
        )
        name = self.deck.name if self.deck else "All decks"
        parts = [f"[b]{name}[/b]  "]
        for key, label, value in (
            ("new", "New", counts.new),
            ("learning", "Learning", counts.learning),
            ("review", "Review", counts.review),
        ):
            style = _COUNT_STYLES[key] + (" underline" if key == kind else "")
            parts.append(f"[{style}]{label} {value}[/]  ")
        self.query_one("#study-counts", Static).update("".join(parts))
        answered = self.session.summary.answered
        self.query_one(ProgressBar).update(total=answered + counts.total or 1, progress=answered)

    def show_done(self) -> None:
        assert self.session is not None
        waiting = self.session.queue.waiting()
        minutes = None
        if waiting is not None:
            minutes = max(1, round((waiting - self.col.now()) / 60000))
        self.draw_counts()
        self.card_view.show_text(summary_text(self.session.summary, minutes))
        self.query_one("#study-typed", Input).display = False
        self.set_phase("done")
        self.card_view.focus()

    @property
    def card_view(self) -> CardView:
        return self.query_one(CardView)

    def reveal(self, typed: str | None = None) -> None:
        """Show the back (comparing ``typed`` with the answer on type-in cards) and the
        interval each answer would give."""
        assert self.session is not None and self.session.current is not None
        card = self.session.current
        self.typed = typed
        _front, back = cards.faces(self.col, card, typed=typed)
        self.card_view.show(back, deck=card.deck, label=cards.label(self.col, card), flag=card.flag)
        labels = {rating: label for rating, (label, _s) in self.session.choices().items()}
        self.query_one(AnswerBar).show_choices(labels)
        self.query_one("#study-typed", Input).display = False
        self.set_phase("back")
        self.card_view.focus()

    # -- actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = _ALLOWED.get(action)
        return True if allowed is None else self.phase in allowed

    def action_primary(self) -> None:
        if self.phase == "front":
            self.reveal()
        elif self.phase == "back":
            self.action_answer(3)

    def action_answer(self, rating: int) -> None:
        assert self.session is not None
        try:
            done = self.session.answer(rating)
        except FlipdeckError as error:
            self.report(error)
            return
        if done.leech:
            suspended = ", suspended" if done.suspended_as_leech else ""
            self.notify(f"This card is a leech (tagged 'leech'{suspended}).", severity="warning")
        self.show_next()

    def action_undo(self) -> None:
        assert self.session is not None
        undone = self.session.undo()
        self.notify(f"Undid {undone}." if undone else "Nothing to undo.", timeout=2)
        if undone:
            self.show_next()

    def action_bury(self) -> None:
        self._act(lambda s: s.bury(), "Buried until tomorrow.")

    def action_suspend(self) -> None:
        self._act(lambda s: s.suspend(), "Suspended.")

    def _act(self, step, message: str) -> None:
        try:
            step(self.session)
        except FlipdeckError as error:
            self.report(error)
            return
        self.notify(message, timeout=2)
        self.show_next()

    def action_flag(self) -> None:
        assert self.session is not None and self.session.current is not None
        choices = [
            (f"{n} {'No flag' if n == 0 else name.title()}", n) for n, name in FLAG_NAMES.items()
        ]
        self.app.push_screen(
            ChoiceDialog("Flag this card", choices, current=self.session.current.flag),
            self._flagged,
        )

    def _flagged(self, number: int | None) -> None:
        if number is None or self.session is None or self.session.current is None:
            return
        self.session.flag(number)
        self.redraw_current()

    def redraw_current(self) -> None:
        """Draw the current card again on the side it was on (after a flag or an edit)."""
        side = self._editing_from if self.phase == "edit" else self.phase
        if side == "back":
            self.reveal(self.typed)
        else:
            self.show_current_front()

    def show_current_front(self) -> None:
        assert self.session is not None and self.session.current is not None
        card = self.session.current
        front, _back = cards.faces(self.col, card)
        self.card_view.show(
            front, deck=card.deck, label=cards.label(self.col, card), flag=card.flag
        )
        typed = self.query_one("#study-typed", Input)
        typed.display = cards.type_in_field(self.col, card) is not None
        self.query_one(AnswerBar).show_front()
        self.set_phase("front")
        (typed if typed.display else self.card_view).focus()

    def action_edit(self) -> None:
        """Replace the card with its note's fields and tags; ctrl+s saves, Escape cancels."""
        assert self.session is not None and self.session.current is not None
        card = self.session.current
        notetype = notetypes.load(self.col, card.notetype_id)
        form = NoteForm(
            notetype, notetype.values_by_name(card.fields), card.tags, id="study-editor"
        )
        self._editing_from = self.phase
        self.query_one("#study", Vertical).mount(form)
        self.set_phase("edit")
        self.call_after_refresh(form.focus_first)

    def action_save_edit(self) -> None:
        assert self.session is not None and self.session.current is not None
        form = self.query_one("#study-editor", NoteForm)
        note = notes.load(self.col, self.session.current.note_id)
        try:
            with self.col.transaction():
                notes.edit(self.col, note, form.changed_values())
                notes.set_tags(self.col, notes.load(self.col, note.id), form.tags())
        except FlipdeckError as error:
            self.report(error)
            return
        self.session.refresh_current()
        self.close_editor()
        self.notify("Note saved.", timeout=2)

    def close_editor(self) -> None:
        self.query_one("#study-editor", NoteForm).remove()
        self.redraw_current()

    def action_back(self) -> None:
        if self.phase == "edit":
            self.close_editor()
            return
        if self.session is not None and self.session.summary.answered and self.phase != "done":
            self.notify(one_line(self.session.summary), timeout=4)
        self.dismiss()

    # -- events -------------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "study-typed" and self.phase == "front":
            event.stop()
            self.reveal(event.value)

    def on_button_pressed(self, event) -> None:
        button = event.button.id or ""
        event.stop()
        if button == "answer-reveal" and self.phase == "front":
            typed = self.query_one("#study-typed", Input)
            self.reveal(typed.value if typed.display else None)
        elif button.startswith("answer-") and self.phase == "back":
            self.action_answer(int(button.removeprefix("answer-")))

    def on_collection_replaced(self, _message: CollectionReplaced) -> None:
        """After a sync: study on with the fresh collection; cards that arrived join in."""
        if self.session is None:
            return
        self.session.col = self.col
        self.session.queue = Queue(self.col, self.deck)
        if self.phase != "edit":
            self.show_next()

"""Provides :class:`AddScreen`: pick a note type and a deck, fill in the fields and tags, and
add (ctrl+s); the form then empties for the next note and keeps the tags, as Anki's Add
window does. Adding is `notes.add`, the call `flipdeck add` makes."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Select, Static

from flipdeck.core.errors import FlipdeckError
from flipdeck.store import decks, notes, notetypes
from flipdeck.tui.messages import CollectionReplaced
from flipdeck.tui.screens.base import FlipdeckScreen
from flipdeck.tui.widgets.note.form import NoteForm


class AddScreen(FlipdeckScreen):
    """Adds notes, one after another."""

    MODE = "add"
    HELP = (
        "Add notes. Pick the note type and the deck, fill in the fields (HTML is kept as "
        "typed; write {{c1::text}} for a cloze) and press ctrl+s: the note is added and the "
        "form empties for the next one, keeping the tags."
    )
    BINDINGS = [Binding("ctrl+s", "add", "Add", id="add.add")]

    def __init__(self) -> None:
        super().__init__()
        self.added = 0
        """Notes added since the screen opened."""

    def compose_body(self) -> ComposeResult:
        kinds = [(t.name, t.id) for t in notetypes.all_notetypes(self.col)]
        places = [(d.name, d.id) for d in decks.all_decks(self.col)]
        with Vertical(id="add"):
            with Horizontal(id="add-pickers"):
                yield Label("Type", classes="form--label-short")
                yield Select(kinds, allow_blank=not kinds, id="add-notetype")
                yield Label("Deck", classes="form--label-short")
                yield Select(places, allow_blank=not places, id="add-deck")
            yield Vertical(id="add-form")
            with Horizontal(id="add-actions"):
                yield Button("Add (ctrl+s)", variant="primary", id="add-button")
                yield Static(id="add-status")

    def on_screen_resume(self) -> None:
        """Shown (the first time too, and back from another screen): read afresh."""
        self.fill_pickers()

    def on_collection_replaced(self, _message: CollectionReplaced) -> None:
        self.fill_pickers()

    def fill_pickers(self) -> None:
        """Offer the note types and decks there are now, keeping the choices made."""
        kinds = self.query_one("#add-notetype", Select)
        places = self.query_one("#add-deck", Select)
        chosen_kind, chosen_place = kinds.selection, places.selection
        types = notetypes.all_notetypes(self.col)
        every = decks.all_decks(self.col)
        kinds.set_options([(t.name, t.id) for t in types])
        places.set_options([(d.name, d.id) for d in every])
        type_ids, deck_ids = [t.id for t in types], [d.id for d in every]
        if chosen_kind in type_ids:
            kinds.value = chosen_kind
        elif types:
            basic = next((t.id for t in types if t.name == "Basic"), type_ids[0])
            kinds.value = basic
        if chosen_place in deck_ids:
            places.value = chosen_place
        elif every:
            default = next((d.id for d in every if d.name == "Default"), deck_ids[0])
            places.value = default
        self.show_form()

    @on(Select.Changed, "#add-notetype")
    def show_form(self, _event: Select.Changed | None = None) -> None:
        """The fields of the chosen note type (the tags typed so far stay)."""
        kind = self.query_one("#add-notetype", Select).selection
        if kind is None:
            return
        notetype = notetypes.load(self.col, kind)
        forms = self.query("#add-note")
        if forms:
            forms.first(NoteForm).switch(notetype)
        else:
            self.query_one("#add-form", Vertical).mount(NoteForm(notetype, id="add-note"))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "add-button":
            self.action_add()

    def action_add(self) -> None:
        form = self.query_one("#add-note", NoteForm)
        deck_id = self.query_one("#add-deck", Select).selection
        if deck_id is None:
            return
        try:
            with self.col.transaction():
                _note, card_ids = notes.add(
                    self.col, form.notetype, deck_id, form.values(), form.tags()
                )
        except FlipdeckError as error:
            self.report(error)
            return
        self.added += 1
        name = decks.get(self.col, deck_id).name
        self.query_one("#add-status", Static).update(
            f"Added to {name}: {len(card_ids)} card(s) · {self.added} note(s) this time"
        )
        form.clear_fields()

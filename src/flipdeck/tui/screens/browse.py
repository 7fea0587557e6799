"""Provides :class:`BrowseScreen`: search with the CLI's query language (`flipdeck help
search`, run in a thread worker), the matching cards in a table that reads only the rows on
screen, a preview and edit pane, and bulk suspend, tag, move and delete, each a store call in
one transaction."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from flipdeck.core.errors import FlipdeckError
from flipdeck.store import cards, decks, notes, notetypes
from flipdeck.tui import jobs
from flipdeck.tui.messages import CollectionReplaced
from flipdeck.tui.screens.base import FlipdeckScreen
from flipdeck.tui.screens.dialogs import ChoiceDialog, ConfirmDialog, PromptDialog
from flipdeck.tui.widgets.browse.grid import CardGrid
from flipdeck.tui.widgets.browse.preview import CardPreview
from flipdeck.tui.widgets.browse.rows import grid_row
from flipdeck.tui.widgets.note.form import NoteForm

_ORDER = "n.created, c.template"


class BrowseScreen(FlipdeckScreen):
    """The card browser."""

    MODE = "browse"
    HELP = (
        "Search with the same language as `flipdeck card list` (deck:French is:due tag:verb "
        "-is:suspended …; `flipdeck help search` lists it all) and press Enter. Space marks "
        "cards; the bulk actions work on the marked cards, or on the card under the cursor."
    )
    BINDINGS = [
        Binding("slash", "focus_search", "Search", id="browse.search", key_display="/"),
        Binding("s", "suspend", "Suspend", id="browse.suspend"),
        Binding("g", "tag", "Tag", id="browse.tag"),
        Binding("m", "move", "Move", id="browse.move"),
        Binding("delete,x", "delete", "Delete", id="browse.delete", key_display="del"),
        Binding("e", "edit", "Edit", id="browse.edit"),
        Binding("ctrl+s", "save_edit", "Save", id="browse.save"),
        Binding("escape", "escape", "Back", id="browse.escape", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_text = ""
        self.editing: str | None = None
        """The note being edited in the pane, if any."""
        self.busy = False
        """A bulk action is running (another waits until it has committed)."""

    def compose_body(self) -> ComposeResult:
        with Vertical(id="browse"):
            yield Input(placeholder="Search: deck:NAME tag:T is:due … (Enter)", id="browse-search")
            yield Static(id="browse-status")
            with Horizontal(id="browse-body"):
                yield CardGrid(lambda card_id: grid_row(self.col, card_id), id="browse-grid")
                yield CardPreview(id="browse-preview")

    def on_mount(self) -> None:
        self.run_search("")
        self.grid.focus()

    def on_collection_replaced(self, _message: CollectionReplaced) -> None:
        self.run_search(self.query_text, keep=self.grid.current_id)

    @property
    def grid(self) -> CardGrid:
        return self.query_one(CardGrid)

    # -- searching ----------------------------------------------------------------------------

    def run_search(self, text: str, *, keep: str | None = None, focus: bool = False) -> None:
        """List the cards ``text`` matches, searched in a thread worker so the screen stays
        live; a newer search supersedes one still running. A query that does not parse is
        explained and the previous list stays. ``keep`` is the card to leave the cursor on;
        ``focus`` moves the focus to the table once the list is there."""
        self.status("Searching…")
        self._search(text, keep, focus)

    @work(thread=True, exclusive=True, group="browse-search")
    def _search(self, text: str, keep: str | None, focus: bool) -> None:
        worker = get_current_worker()
        try:
            ids = jobs.find_cards(self.app.path, self.app.now, text, _ORDER)
        except FlipdeckError as error:
            if not worker.is_cancelled:
                self.app.call_from_thread(self.status, f"[b red]{error.message}[/]", markup=True)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._listed, text, ids, keep, focus)

    def _listed(self, text: str, ids: list[str], keep: str | None, focus: bool) -> None:
        self.query_text = text
        self.grid.show(ids, keep=keep)
        self.status(f"{len(ids)} card(s)" + (f" match {text!r}" if text else ""))
        self.refresh_bindings()  # the bulk actions need a card to act on
        if focus:
            self.grid.focus()

    def status(self, text: str, *, markup: bool = False) -> None:
        self.query_one("#browse-status", Static).update(text if markup else _plain(text))

    @on(Input.Submitted, "#browse-search")
    def searched(self, event: Input.Submitted) -> None:
        event.stop()
        self.run_search(event.value.strip(), focus=True)

    def on_card_grid_highlighted(self, event: CardGrid.Highlighted) -> None:
        if self.editing is None:
            self.query_one(CardPreview).show(self.col, event.card_id)

    def action_focus_search(self) -> None:
        self.query_one("#browse-search", Input).focus()

    def refresh_list(self, changed: list[str] | None = None) -> None:
        """After a bulk action: search again (cards may no longer match) near the cursor."""
        self.grid.forget(changed)
        self.run_search(self.query_text, keep=self.grid.current_id)

    # -- bulk actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save_edit":
            return self.editing is not None
        if action in ("suspend", "tag", "move", "delete", "edit"):
            return self.editing is None and not self.busy and bool(self.grid.ids)
        return True

    def _apply(self, step, done: str) -> None:
        """Run ``step(col, card_ids)`` on the chosen cards in a thread worker, in one
        transaction; ``done`` (with ``{count}``) is the message once it has committed."""
        chosen = self.grid.selection()
        if not chosen:
            return
        self.busy = True
        self.refresh_bindings()
        self.status(f"Working on {len(chosen)} card(s)…")
        self._bulk(step, chosen, done)

    @work(thread=True, group="browse-bulk")
    def _bulk(self, step, chosen: list[str], done: str) -> None:
        try:
            count = jobs.in_transaction(self.app.path, self.app.now, lambda c: step(c, chosen))
        except FlipdeckError as error:
            self.app.call_from_thread(self._bulk_done, chosen, None, error)
            return
        self.app.call_from_thread(self._bulk_done, chosen, done.format(count=count), None)

    def _bulk_done(self, chosen: list[str], message: str | None, error) -> None:
        self.busy = False
        self.refresh_bindings()
        if error is not None:
            self.report(error)
            self.status("Nothing was changed.")
            return
        self.grid.marked.clear()
        self.refresh_list(chosen)
        self.notify(message or "", timeout=3)

    def action_suspend(self) -> None:
        """Suspend the chosen cards, or unsuspend them when the current one is suspended."""
        current = self.grid.current_id
        if current is None:
            return
        resume = cards.info(self.col, current).suspended
        self._apply(
            lambda col, ids: cards.set_suspended(col, ids, not resume),
            ("Unsuspended" if resume else "Suspended") + " {count} card(s).",
        )

    def action_tag(self) -> None:
        self.app.push_screen(
            PromptDialog("Add tags to the notes of the chosen cards (-tag removes)"),
            self._tagged,
        )

    def _tagged(self, text: str | None) -> None:
        if not text:
            return
        add = [t for t in text.split() if not t.startswith("-")]
        remove = [t[1:] for t in text.split() if t.startswith("-") and len(t) > 1]

        def step(col, ids: list[str]) -> int:
            note_ids = dict.fromkeys(cards.info(col, i).note_id for i in ids)
            for note_id in note_ids:
                if add:
                    notes.add_tags(col, notes.load(col, note_id), add)
                if remove:
                    notes.remove_tags(col, notes.load(col, note_id), remove)
            return len(note_ids)

        self._apply(step, "Tagged {count} note(s).")

    def action_move(self) -> None:
        choices = [(d.name, d.id) for d in decks.all_decks(self.col)]
        self.app.push_screen(ChoiceDialog("Move the chosen cards to", choices), self._moved)

    def _moved(self, deck_id: str | None) -> None:
        if deck_id is None:
            return
        name = decks.get(self.col, deck_id).name
        self._apply(
            lambda col, ids: cards.move(col, ids, deck_id), f"Moved {{count}} card(s) to {name}."
        )

    def action_delete(self) -> None:
        chosen = self.grid.selection()
        self.app.push_screen(
            ConfirmDialog(
                f"Delete {len(chosen)} card(s)? A note left with no card goes too;"
                " the review history is kept."
            ),
            self._deleted,
        )

    def _deleted(self, yes: bool | None) -> None:
        if yes:
            self._apply(lambda col, ids: cards.delete(col, ids), "Deleted {count} card(s).")

    # -- editing ------------------------------------------------------------------------------

    def action_edit(self) -> None:
        """Edit the current card's note in the pane; ctrl+s saves, Escape cancels."""
        current = self.grid.current_id
        if current is None:
            return
        card = cards.info(self.col, current)
        notetype = notetypes.load(self.col, card.notetype_id)
        form = NoteForm(
            notetype, notetype.values_by_name(card.fields), card.tags, id="browse-editor"
        )
        self.editing = card.note_id
        self.query_one(CardPreview).display = False
        self.query_one("#browse-body", Horizontal).mount(form)
        self.refresh_bindings()
        self.call_after_refresh(form.focus_first)

    def action_save_edit(self) -> None:
        if self.editing is None:
            return
        form = self.query_one("#browse-editor", NoteForm)
        try:
            with self.col.transaction():
                note = notes.load(self.col, self.editing)
                notes.edit(self.col, note, form.changed_values())
                notes.set_tags(self.col, notes.load(self.col, note.id), form.tags())
        except FlipdeckError as error:
            self.report(error)
            return
        changed = notes.card_ids(self.col, self.editing)
        self.close_editor()
        self.refresh_list(changed)
        self.notify("Note saved.", timeout=2)

    def close_editor(self) -> None:
        self.editing = None
        self.query_one("#browse-editor", NoteForm).remove()
        self.query_one(CardPreview).display = True
        self.query_one(CardPreview).show(self.col, self.grid.current_id)
        self.refresh_bindings()
        self.grid.focus()

    def action_escape(self) -> None:
        if self.editing is not None:
            self.close_editor()
        elif self.grid.marked:
            self.grid.marked.clear()
            self.grid.refresh()
        elif self.focused is not self.grid:
            self.grid.focus()


def _plain(text: str):
    from rich.text import Text

    return Text(text)

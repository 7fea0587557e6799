"""Provides :class:`DecksScreen`, the home screen: the deck tree with the new, learning and
due counts `flipdeck deck list` prints, and the deck actions (study, add, rename, delete,
preset), each one store call in one transaction as the CLI makes it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from flipdeck.core.errors import FlipdeckError
from flipdeck.store import decks, presets, reviews, stats
from flipdeck.tui.messages import CollectionReplaced
from flipdeck.tui.screens.base import FlipdeckScreen
from flipdeck.tui.screens.dialogs import ConfirmDialog, PresetDialog, PromptDialog
from flipdeck.tui.widgets.decks.table import DeckTable


class DecksScreen(FlipdeckScreen):
    """The deck list; Enter (or a click) studies the highlighted deck."""

    MODE = "decks"
    HELP = (
        "Your decks, children indented under their parents (Space folds and unfolds them). "
        "The counts are what is left to study today: new cards (blue), learning cards (red) "
        "and reviews due (green), daily limits applied. Enter studies the highlighted deck "
        "and its children."
    )
    BINDINGS = [
        Binding("enter", "study", "Study", id="decks.study", show=False),
        Binding("s", "study_all", "Study all", id="decks.study_all"),
        Binding("n", "create", "New deck", id="decks.create"),
        Binding("r", "rename", "Rename", id="decks.rename"),
        Binding("delete,x", "delete", "Delete", id="decks.delete", key_display="del"),
        Binding("p", "preset", "Preset", id="decks.preset"),
        Binding("space", "toggle", "Fold", id="decks.toggle", show=False),
        Binding("f5,ctrl+r", "refresh", "Refresh", id="decks.refresh", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        yield DeckTable(id="decks-table")
        yield Static(id="decks-summary")

    def on_screen_resume(self) -> None:
        """Shown (the first time too, and back from studying): the counts have changed."""
        self.refresh_counts()

    def on_collection_replaced(self, _message: CollectionReplaced) -> None:
        self.refresh_counts()

    def refresh_counts(self) -> None:
        """Read the deck tree again and redraw it, keeping the highlighted deck."""
        rows = stats.deck_tree(self.col)
        self.query_one(DeckTable).show(rows)
        due = sum(r.new + r.learning + r.review for r in rows if r.depth == 0)
        total = sum(r.total_cards for r in rows if r.depth == 0)
        self.query_one("#decks-summary", Static).update(
            f"{len(rows)} deck(s) · {total} card(s) · {due} to study today"
            " · Enter studies · ? for keys"
        )

    @property
    def deck(self) -> decks.Deck | None:
        """The highlighted deck, if any."""
        deck_id = self.query_one(DeckTable).current_id()
        if deck_id is None:
            return None
        try:
            return decks.get(self.col, deck_id)
        except FlipdeckError:
            return None

    # -- actions ------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_study()

    def action_study(self) -> None:
        from flipdeck.tui.screens.study import StudyScreen

        deck = self.deck
        if deck is not None:
            self.app.push_screen(StudyScreen(deck))

    def action_study_all(self) -> None:
        from flipdeck.tui.screens.study import StudyScreen

        self.app.push_screen(StudyScreen(None))

    def action_refresh(self) -> None:
        self.refresh_counts()

    def action_toggle(self) -> None:
        """Collapse or expand the highlighted deck's children."""
        table = self.query_one(DeckTable)
        deck_id = table.current_id()
        if deck_id is not None:
            table.toggle(deck_id)

    def action_create(self) -> None:
        parent = self.deck
        value = parent.name + "::" if parent is not None else ""
        self.app.push_screen(
            PromptDialog("New deck (use :: for a child deck)", value, placeholder="Lang::French"),
            self._created,
        )

    def _created(self, name: str | None) -> None:
        if not name:
            return
        try:
            with self.col.transaction():
                deck = decks.create(self.col, name)
        except FlipdeckError as error:
            self.report(error)
            return
        self.refresh_counts()
        self.query_one(DeckTable).highlight(deck.id)
        self.notify(f"Created {deck.name}.", timeout=2)

    def action_rename(self) -> None:
        deck = self.deck
        if deck is None:
            return
        self.app.push_screen(
            PromptDialog(f"Rename {deck.name}", deck.name), lambda name: self._renamed(deck, name)
        )

    def _renamed(self, deck: decks.Deck, name: str | None) -> None:
        if not name or name == deck.name:
            return
        try:
            with self.col.transaction():
                renamed = decks.rename(self.col, deck, name)
        except FlipdeckError as error:
            self.report(error)
            return
        self.refresh_counts()
        self.notify(f"Renamed to {renamed.name}.", timeout=2)

    def action_delete(self) -> None:
        deck = self.deck
        if deck is None:
            return
        tree = decks.subtree(self.col, deck)
        row = next((r for r in stats.deck_tree(self.col) if r.deck.id == deck.id), None)
        count = row.total_cards if row else 0
        question = (
            f"Delete {deck.name}: {len(tree)} deck(s) and {count} card(s)?\n"
            "The review history is kept."
        )
        self.app.push_screen(ConfirmDialog(question), lambda yes: self._deleted(deck, yes))

    def _deleted(self, deck: decks.Deck, yes: bool | None) -> None:
        if not yes:
            return
        try:
            with self.col.transaction():
                gone, cards_gone = decks.delete(self.col, deck)
        except FlipdeckError as error:
            self.report(error)
            return
        self.refresh_counts()
        self.notify(f"Deleted {gone} deck(s) and {cards_gone} card(s).", timeout=3)

    def action_preset(self) -> None:
        deck = self.deck
        if deck is None:
            return
        users = [d.name for d in decks.all_decks(self.col) if d.preset_id == deck.preset_id]
        self.app.push_screen(
            PresetDialog(presets.load(self.col, deck.preset_id), users),
            lambda updated: self._preset_saved(deck, updated),
        )

    def _preset_saved(self, deck: decks.Deck, updated) -> None:
        """Save the preset and re-schedule every deck sharing it, as `deck config` does."""
        if updated is None or updated == presets.load(self.col, deck.preset_id):
            return
        try:
            with self.col.transaction():
                presets.save(self.col, updated)
                users = [d.id for d in decks.all_decks(self.col) if d.preset_id == updated.id]
                reviews.refold_decks(self.col, users)
        except FlipdeckError as error:
            self.report(error)
            return
        self.refresh_counts()
        self.notify(f"Preset {updated.name!r} saved for {len(users)} deck(s).", timeout=3)

"""Provides :class:`DeckTable`: the deck tree as a table, one row per deck keyed by its id,
the name indented by depth (▾/▸ on a deck with children, which can be collapsed) and the
counts coloured as Anki colours them. A collapsed deck's counts still include its children."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from flipdeck.store.stats import DeckCounts


class DeckTable(DataTable):
    """The decks; :meth:`show` replaces the rows and keeps the cursor on the same deck."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.deck_rows: list[DeckCounts] = []
        """The rows last given to :meth:`show`, folded or not."""
        self.collapsed: set[str] = set()
        """Ids of the decks whose children are hidden (for this session)."""

    def on_mount(self) -> None:
        self.add_column("Deck", key="deck")
        self.add_column(Text("New", justify="right"), key="new", width=6)
        self.add_column(Text("Learn", justify="right"), key="learning", width=6)
        self.add_column(Text("Due", justify="right"), key="review", width=6)
        self.add_column(Text("Cards", justify="right"), key="cards", width=7)

    def show(self, rows: Sequence[DeckCounts]) -> None:
        """Draw ``rows`` (in tree order), leaving out the children of collapsed decks."""
        current = self.current_id()
        self.deck_rows = list(rows)
        self.clear()
        hidden_below: int | None = None  # depth of the collapsed deck being skipped
        for row in self.deck_rows:
            if hidden_below is not None:
                if row.depth > hidden_below:
                    continue
                hidden_below = None
            if row.children and row.deck.id in self.collapsed:
                hidden_below = row.depth
            marker = ("▸ " if row.deck.id in self.collapsed else "▾ ") if row.children else "  "
            self.add_row(
                Text("  " * row.depth + marker + row.deck.parts[-1]),
                _count(row.new, "blue"),
                _count(row.learning, "red"),
                _count(row.review, "green"),
                Text(str(row.total_cards), style="dim", justify="right"),
                key=row.deck.id,
            )
        if current is not None:
            self.highlight(current)

    def toggle(self, deck_id: str) -> bool:
        """Collapse or expand a deck with children; ``False`` for a deck without any."""
        if not any(r.deck.id == deck_id and r.children for r in self.deck_rows):
            return False
        self.collapsed ^= {deck_id}
        self.show(self.deck_rows)
        return True

    def current_id(self) -> str | None:
        """The highlighted deck's id."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:  # the cursor sits past the last row after a delete
            return None

    def highlight(self, deck_id: str) -> None:
        """Move the cursor to ``deck_id``'s row, if it is there."""
        with suppress(RowDoesNotExist):  # the deck is gone (deleted, or renamed by a sync)
            self.move_cursor(row=self.get_row_index(deck_id), animate=False)


def _count(value: int, colour: str) -> Text:
    """A count, coloured when there is something to do and dim when it is 0."""
    style = colour if value else "dim"
    return Text(str(value), style=style, justify="right")

"""Provides :class:`CardGrid`: the browser's card table, drawn line by line (textual's line
API) from a list of card ids, so 100,000 matches cost one list of ids and only the rows on
screen are ever read or rendered. A DataTable would build a row object per card first.

The grid reads rows through the ``fetch`` function its screen gives it (store calls), keeps a
bounded cache of them, and posts :class:`CardGrid.Highlighted` when the cursor moves.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

CACHE_ROWS = 2000


@dataclass(frozen=True)
class GridRow:
    """What one line of the table shows."""

    question: str
    deck: str
    state: str
    due: str
    flags: str = ""
    """``S`` suspended, ``B`` buried, ``1``–``7`` the flag."""


COLUMNS = (("Due", 10), ("State", 10), ("Deck", 18), ("", 3))
"""The fixed columns after the question (which takes the rest), with their widths."""


class CardGrid(ScrollView, can_focus=True):
    """The matching cards; Space marks a card for the bulk actions."""

    COMPONENT_CLASSES = {"card-grid--cursor", "card-grid--marked", "card-grid--header"}
    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("space", "mark", "Mark", id="browse.mark"),
        Binding("ctrl+a", "mark_all", "Mark all", id="browse.mark_all", show=False),
    ]

    @dataclass
    class Highlighted(Message):
        """The cursor is on another card (``None``: the list is empty)."""

        card_id: str | None

    def __init__(self, fetch: Callable[[str], GridRow], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.fetch = fetch
        self.ids: list[str] = []
        self.marked: set[str] = set()
        self.cursor = 0
        self._rows: OrderedDict[str, GridRow] = OrderedDict()

    # -- data ---------------------------------------------------------------------------------

    def show(self, ids: Sequence[str], *, keep: str | None = None) -> None:
        """Show these cards (marks on cards no longer listed are dropped); the cursor goes to
        ``keep`` when it is listed, else to the first card."""
        self.ids = list(ids)
        self._rows.clear()
        if self.marked:
            self.marked &= set(self.ids)
        self.cursor = self.ids.index(keep) if keep is not None and keep in self.ids else 0
        self.virtual_size = Size(self.size.width, len(self.ids) + 1)
        self.scroll_to(y=max(0, self.cursor - 2), animate=False)
        self.refresh()
        self.post_message(self.Highlighted(self.current_id))

    def forget(self, card_ids: Sequence[str] | None = None) -> None:
        """Drop cached rows (all, or these cards') after an edit changed them."""
        if card_ids is None:
            self._rows.clear()
        else:
            for card_id in card_ids:
                self._rows.pop(card_id, None)
        self.refresh()

    @property
    def current_id(self) -> str | None:
        """The card under the cursor."""
        return self.ids[self.cursor] if 0 <= self.cursor < len(self.ids) else None

    def selection(self) -> list[str]:
        """The marked cards, in list order; the card under the cursor when none is marked."""
        if self.marked:
            return [card_id for card_id in self.ids if card_id in self.marked]
        return [self.current_id] if self.current_id else []

    def row(self, card_id: str) -> GridRow:
        """A row, from the cache or read through ``fetch``."""
        row = self._rows.get(card_id)
        if row is None:
            row = self.fetch(card_id)
            self._rows[card_id] = row
            if len(self._rows) > CACHE_ROWS:
                self._rows.popitem(last=False)
        return row

    # -- drawing ------------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.ids) + 1)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            style = self.get_component_rich_style("card-grid--header")
            cells = self._cells(f"Question ({len(self.ids)} cards)", *[c for c, _w in COLUMNS])
            return Strip([Segment(cells, style)], width)
        index = int(self.scroll_offset.y) + y - 1
        if index >= len(self.ids):
            return Strip.blank(width, self.rich_style)
        card_id = self.ids[index]
        row = self.row(card_id)
        mark = "●" if card_id in self.marked else " "
        style = self.rich_style
        if card_id in self.marked:
            style += self.get_component_rich_style("card-grid--marked")
        if index == self.cursor:
            style += self.get_component_rich_style("card-grid--cursor")
        if "S" in row.flags:
            style += Style(dim=True)
        text = self._cells(f"{mark} {row.question}", row.due, row.state, row.deck, row.flags)
        return Strip([Segment(text, style)], width)

    def _cells(self, first: str, *rest: str) -> str:
        width = self.size.width
        fixed = [w for _c, w in COLUMNS]
        if width < 70:  # 80 columns minus the preview's border: drop the deck column
            fixed[2] = 0
        question = max(10, width - sum(fixed) - len([w for w in fixed if w]))
        parts = [set_cell_size(first, question)]
        for value, size in zip(rest, fixed, strict=True):
            if size:
                parts.append(set_cell_size(value, size))
        return set_cell_size(" ".join(parts), width)

    # -- moving -------------------------------------------------------------------------------

    def _set_cursor(self, index: int) -> None:
        if not self.ids:
            return
        index = max(0, min(index, len(self.ids) - 1))
        if index == self.cursor:
            return
        old = self.cursor
        self.cursor = index
        body = self.size.height - 1
        top = int(self.scroll_offset.y)
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + body:
            self.scroll_to(y=index - body + 1, animate=False)
        self._refresh_index(old)
        self._refresh_index(index)
        self.post_message(self.Highlighted(self.current_id))

    def _refresh_index(self, index: int) -> None:
        line = index - int(self.scroll_offset.y) + 1
        if 0 < line < self.size.height:
            self.refresh(Region(0, line, self.size.width, 1))

    def action_move(self, delta: int) -> None:
        self._set_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._set_cursor(self.cursor + direction * max(1, self.size.height - 2))

    def action_jump(self, index: int) -> None:
        self._set_cursor(index if index >= 0 else len(self.ids) - 1)

    def action_mark(self) -> None:
        card_id = self.current_id
        if card_id is None:
            return
        self.marked ^= {card_id}
        self._refresh_index(self.cursor)
        self._set_cursor(self.cursor + 1)

    def action_mark_all(self) -> None:
        self.marked = set() if len(self.marked) == len(self.ids) else set(self.ids)
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self._set_cursor(int(self.scroll_offset.y) + event.y - 1)

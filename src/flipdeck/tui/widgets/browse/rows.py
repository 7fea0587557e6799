"""Provides :func:`grid_row`: what the browser's table shows of one card, read through the
store (the card's details, its rendered front, its due day in the collection's calendar)."""

from __future__ import annotations

from flipdeck.core.errors import FlipdeckError
from flipdeck.core.scheduling import NEW, REVIEW
from flipdeck.store import cards, config
from flipdeck.tui.widgets.browse.grid import GridRow


def grid_row(col, card_id: str) -> GridRow:
    """One card's row; a card deleted meanwhile (a sync, another command) says so."""
    try:
        card = cards.info(col, card_id)
    except FlipdeckError:
        return GridRow("(deleted)", "", "", "")
    state = card.state
    if state.state == NEW or state.due is None:
        due = ""
    else:
        calendar = config.calendar(col)
        day = calendar.date_of(calendar.day(state.due))
        due = day.isoformat() if state.state == REVIEW else day.isoformat()[5:] + " lrn"
    now = col.now()
    flags = ("S" if card.suspended else "") + ("B" if card.buried(now) else "")
    flags += str(card.flag) if card.flag else ""
    return GridRow(cards.question(col, card), card.deck, cards.state_name(state), due, flags)

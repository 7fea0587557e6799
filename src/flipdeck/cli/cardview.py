"""Provides how cards look on a terminal and in JSON."""

from __future__ import annotations

from flipdeck.cli.common import iso
from flipdeck.core.html import to_spans
from flipdeck.core.scheduling import NEW, STATE_NAMES
from flipdeck.store import cards
from flipdeck.store.cards import CardInfo


def rich_text(html: str):
    """Card HTML as rich Text (user text is never parsed as rich markup)."""
    from rich.text import Text

    text = Text()
    for piece, style in to_spans(html):
        text.append(piece, style=style or None)
    return text


def card_json(col, card: CardInfo, now: int) -> dict:
    """The documented JSON shape of a card (docs/cli.md, "card list --json")."""
    state = card.state
    return {
        "id": card.id,
        "note_id": card.note_id,
        "deck": card.deck,
        "deck_id": card.deck_id,
        "card": cards.label(col, card),
        "state": STATE_NAMES[state.state],
        "due": None if state.state == NEW else iso(state.due),
        "interval": state.interval,
        "stability": state.stability,
        "difficulty": state.difficulty,
        "lapses": state.lapses,
        "reviews": card.reviews,
        "suspended": card.suspended,
        "buried": card.buried(now),
        "flag": card.flag,
        "tags": list(card.tags),
        "question": cards.question(col, card),
        "last_review": iso(state.last_review),
    }

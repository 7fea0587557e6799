"""Small builders shared by the store tests."""

from __future__ import annotations

from flipdeck.store import decks, notes, notetypes


def add(col, *fields, deck="Default", notetype="Basic", tags=()):
    """Add one note in its own transaction; returns (note, card ids)."""
    with col.transaction():
        target = decks.ensure(col, deck)
        return notes.add(col, notetypes.find(col, notetype), target.id, list(fields), tags)


def review_count(col, card_id=None) -> int:
    if card_id is None:
        return col.conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
    return col.conn.execute(
        "SELECT count(*) FROM reviews WHERE card_id = ?", (card_id,)
    ).fetchone()[0]

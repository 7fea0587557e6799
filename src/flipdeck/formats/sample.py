"""Provides the bundled sample deck (everyday shell commands, 36 notes, 41 cards).

Loading is idempotent: notes are matched by their guid, so running the quick start twice adds
nothing the second time.
"""

from __future__ import annotations

import json
from importlib import resources

from flipdeck.store import decks, notes, notetypes


def sample_data() -> dict:
    """The sample deck as shipped."""
    return json.loads(resources.files("flipdeck.data").joinpath("sample.json").read_text("utf-8"))


def load_sample(col) -> tuple[str, int, int]:
    """Add the sample notes that are missing; returns (deck name, notes added, already there)."""
    data = sample_data()
    added = present = 0
    with col.transaction():
        deck = decks.ensure(col, data["deck"])
        if not deck.description:
            decks.set_description(col, deck, data["description"])
        for item in data["notes"]:
            if col.conn.execute(
                "SELECT 1 FROM notes WHERE guid = ? AND deleted = 0", (item["guid"],)
            ).fetchone():
                present += 1
                continue
            notetype = notetypes.find(col, item["type"])
            notes.add(col, notetype, deck.id, item["fields"], item["tags"], guid=item["guid"])
            added += 1
    return deck.name, added, present

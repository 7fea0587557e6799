"""Provides decks: a hierarchy by ``::`` in the name, each deck pointing at a preset.

A deck created by name gets an id derived from the name, so two devices that both create
"Spanish::Verbs" offline end up with one deck, not two.
"""

from __future__ import annotations

from dataclasses import dataclass

from flipdeck.core.errors import Conflict, InvalidInput, NotFound
from flipdeck.core.ids import derived_id
from flipdeck.core.presets import DEFAULT_PRESET_ID

SEPARATOR = "::"


@dataclass(frozen=True)
class Deck:
    """A live deck."""

    id: str
    name: str
    preset_id: str
    description: str = ""

    @property
    def parts(self) -> list[str]:
        """The levels of the name."""
        return self.name.split(SEPARATOR)

    @property
    def parent_name(self) -> str | None:
        """The parent deck's name, if this deck is a child."""
        return SEPARATOR.join(self.parts[:-1]) or None


def normalise(name: str) -> str:
    """A deck name with each level trimmed; empty levels are refused."""
    parts = [part.strip() for part in name.split(SEPARATOR)]
    if not name.strip() or any(not part for part in parts):
        raise InvalidInput(
            f"invalid deck name {name!r}",
            hint="Deck names are levels joined by '::', none of them empty (e.g. 'Lang::French').",
        )
    return SEPARATOR.join(parts)


def all_decks(col) -> list[Deck]:
    """Every live deck, ordered by name (case-insensitive)."""
    rows = col.conn.execute(
        "SELECT id, name, preset_id, description FROM decks WHERE deleted = 0"
    ).fetchall()
    return sorted((Deck(*row) for row in rows), key=lambda d: d.name.casefold())


def get(col, deck_id: str) -> Deck:
    """The live deck with this id."""
    row = col.conn.execute(
        "SELECT id, name, preset_id, description FROM decks WHERE id = ? AND deleted = 0",
        (deck_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no deck with id {deck_id}")
    return Deck(*row)


def lookup(col, name: str) -> Deck | None:
    """The live deck called ``name`` (case-insensitive), or ``None``."""
    folded = normalise(name).casefold()
    for deck in all_decks(col):
        if deck.name.casefold() == folded:
            return deck
    return None


def find(col, name: str) -> Deck:
    """The live deck called ``name``; the error lists the decks there are."""
    deck = lookup(col, name)
    if deck is None:
        names = [d.name for d in all_decks(col)]
        raise NotFound(
            f"no deck named {name!r}",
            hint=f"Decks: {', '.join(names)}. Create one with `flipdeck deck create NAME`."
            if names
            else "Create one with `flipdeck deck create NAME`.",
        )
    return deck


def subtree(col, deck: Deck) -> list[Deck]:
    """``deck`` and all its descendants."""
    prefix = deck.name.casefold() + SEPARATOR
    return [d for d in all_decks(col) if d.id == deck.id or d.name.casefold().startswith(prefix)]


def create(col, name: str, *, stamp: str | None = None) -> Deck:
    """Create ``name`` and any missing parents; an existing deck of that name is refused."""
    name = normalise(name)
    if lookup(col, name) is not None:
        raise Conflict(f"a deck named {name!r} already exists")
    return ensure(col, name, stamp=stamp)


def ensure(col, name: str, *, stamp: str | None = None) -> Deck:
    """The deck called ``name``, created (with its parents) when missing."""
    name = normalise(name)
    parts = name.split(SEPARATOR)
    deck = None
    for depth in range(1, len(parts) + 1):
        level = SEPARATOR.join(parts[:depth])
        deck = lookup(col, level)
        if deck is None:
            deck = _new(col, level, stamp)
    assert deck is not None
    return deck


def _new(col, name: str, stamp: str | None) -> Deck:
    deck_id = derived_id("deck", name.casefold())
    row = col.conn.execute("SELECT deleted FROM decks WHERE id = ?", (deck_id,)).fetchone()
    if row is not None and not row[0]:
        deck_id = col.new_id()  # the derived id belongs to a deck since renamed
    parent = SEPARATOR.join(name.split(SEPARATOR)[:-1])
    parent_deck = lookup(col, parent) if parent else None
    preset_id = parent_deck.preset_id if parent_deck else DEFAULT_PRESET_ID
    col.write("deck", deck_id, {"name": name, "preset_id": preset_id, "deleted": 0}, stamp=stamp)
    return Deck(deck_id, name, preset_id)


def rename(col, deck: Deck, new_name: str) -> Deck:
    """Rename a deck and move its children with it; parents of the new name are created."""
    new_name = normalise(new_name)
    existing = lookup(col, new_name)
    if existing is not None and existing.id != deck.id:
        raise Conflict(f"a deck named {new_name!r} already exists")
    if new_name.casefold().startswith(deck.name.casefold() + SEPARATOR):
        raise InvalidInput("a deck cannot be moved inside itself")
    parent = SEPARATOR.join(new_name.split(SEPARATOR)[:-1])
    if parent:
        ensure(col, parent)
    old_prefix = deck.name + SEPARATOR
    for d in subtree(col, deck):
        name = new_name if d.id == deck.id else new_name + SEPARATOR + d.name[len(old_prefix) :]
        if name != d.name:
            col.write("deck", d.id, {"name": name})
    return get(col, deck.id)


def set_description(col, deck: Deck, description: str) -> None:
    """Change a deck's description."""
    col.write("deck", deck.id, {"description": description})


def set_preset(col, deck: Deck, preset_id: str) -> None:
    """Point a deck at another preset (the caller re-folds its cards)."""
    col.write("deck", deck.id, {"preset_id": preset_id})
    col.invalidate()


def delete(col, deck: Deck) -> tuple[int, int]:
    """Delete a deck, its children and their cards (and notes left with no card).

    Returns ``(decks deleted, cards deleted)``. The review log is kept.
    """
    from flipdeck.store import cards

    doomed = subtree(col, deck)
    ids = [d.id for d in doomed]
    marks = ",".join("?" * len(ids))
    card_ids = [
        r[0]
        for r in col.conn.execute(
            f"SELECT id FROM cards WHERE deleted = 0 AND deck_id IN ({marks})", ids
        )
    ]
    cards.delete(col, card_ids)
    for d in doomed:
        col.write("deck", d.id, {"deleted": 1})
    return len(doomed), len(card_ids)

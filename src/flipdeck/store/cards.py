"""Provides card actions (flag, suspend, bury, move, delete, forget, set due) and card details.

Each action writes the card's synced fields through the outbox and keeps the derived ``queue``
column in step, so the due query never needs to look further than its index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from flipdeck.core.errors import InvalidInput, NotFound
from flipdeck.core.scheduling import STATE_NAMES, CardState
from flipdeck.store import reviews

_INFO_SQL = (
    "SELECT c.id, c.note_id, c.template, c.deck_id, coalesce(d.name, '?'), c.flag, c.suspended,"
    " c.buried_until, n.notetype_id, n.fields, n.tags, n.created, "
    + ", ".join(f"c.{name.strip()}" for name in reviews.STATE_COLUMNS.split(","))
    + ", (SELECT count(*) FROM reviews r WHERE r.card_id = c.id AND r.rating > 0)"
    " FROM cards c JOIN notes n ON n.id = c.note_id LEFT JOIN decks d ON d.id = c.deck_id"
    " WHERE c.id = ? AND c.deleted = 0 AND n.deleted = 0"
)


@dataclass(frozen=True)
class CardInfo:
    """A card with what showing or listing it needs."""

    id: str
    note_id: str
    template: str
    deck_id: str
    deck: str
    flag: int
    suspended: bool
    buried_until: int
    notetype_id: str
    fields: dict[str, str]
    tags: tuple[str, ...]
    created: int
    state: CardState
    reviews: int

    def buried(self, now: int) -> bool:
        """Whether the card is buried at ``now``."""
        return self.buried_until > now


def info(col, card_id: str) -> CardInfo:
    """A live card's details."""
    row = col.conn.execute(_INFO_SQL, (card_id,)).fetchone()
    if row is None:
        raise NotFound(
            f"no card with id {card_id}", hint="Find card ids with `flipdeck card list QUERY`."
        )
    return CardInfo(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        bool(row[6]),
        row[7],
        row[8],
        json.loads(row[9]),
        tuple(row[10].split()),
        row[11],
        reviews._state(row[12:22]),
        row[22],
    )


def resolve(col, ref: str) -> str:
    """A card id from a full id or an unambiguous prefix of at least 6 characters."""
    ref = ref.strip()
    if col.conn.execute("SELECT 1 FROM cards WHERE id = ? AND deleted = 0", (ref,)).fetchone():
        return ref
    if len(ref) >= 6:
        rows = col.conn.execute(
            "SELECT id FROM cards WHERE id LIKE ? ESCAPE '\\' AND deleted = 0 LIMIT 2",
            (ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
        ).fetchall()
        if len(rows) == 1:
            return rows[0][0]
        if len(rows) > 1:
            raise InvalidInput(f"card id prefix {ref!r} is ambiguous; give more characters")
    raise NotFound(f"no card with id {ref}", hint="Find card ids with `flipdeck card list`.")


def _live(col, card_ids: Iterable[str]) -> list[tuple[str, int, int, int, int]]:
    out = []
    for cid in card_ids:
        row = col.conn.execute(
            "SELECT id, suspended, state, flag, buried_until FROM cards"
            " WHERE id = ? AND deleted = 0",
            (cid,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no card with id {cid}")
        out.append(row)
    return out


def set_flag(col, card_ids: Iterable[str], flag: int) -> int:
    """Flag cards 1–7 (0 removes the flag)."""
    if not 0 <= flag <= 7:
        raise InvalidInput(f"flags are 0–7 (0 removes), not {flag}")
    count = 0
    for cid, _suspended, _state, current, _buried in _live(col, card_ids):
        if current != flag:
            col.write("card", cid, {"flag": flag})
            count += 1
    return count


def set_suspended(col, card_ids: Iterable[str], suspended: bool) -> int:
    """Suspend or unsuspend cards; returns how many changed."""
    count = 0
    for cid, current, state, _flag, _buried in _live(col, card_ids):
        if bool(current) != suspended:
            col.write("card", cid, {"suspended": int(suspended)})
            col.conn.execute(
                "UPDATE cards SET queue = ? WHERE id = ?",
                (reviews.queue_of(state, int(suspended)), cid),
            )
            count += 1
    return count


def bury(col, card_ids: Iterable[str], until: int) -> int:
    """Hide cards until ``until`` (epoch ms; the next rollover for "until tomorrow")."""
    count = 0
    for cid, _suspended, _state, _flag, current in _live(col, card_ids):
        if current < until:
            col.write("card", cid, {"buried_until": until})
            count += 1
    return count


def unbury(col, card_ids: Iterable[str], now: int) -> int:
    """Bring buried cards back now."""
    count = 0
    for cid, _suspended, _state, _flag, current in _live(col, card_ids):
        if current > now:
            col.write("card", cid, {"buried_until": 0})
            count += 1
    return count


def move(col, card_ids: Iterable[str], deck_id: str) -> int:
    """Move cards to another deck (re-folding them when the preset changes)."""
    moved = []
    for cid, *_rest in _live(col, card_ids):
        row = col.conn.execute("SELECT deck_id FROM cards WHERE id = ?", (cid,)).fetchone()
        if row[0] != deck_id:
            col.write("card", cid, {"deck_id": deck_id})
            moved.append(cid)
    reviews.refold(col, moved)
    return len(moved)


def delete(col, card_ids: Iterable[str]) -> int:
    """Delete cards; a note left with no card is deleted too. The review log is kept."""
    notes_touched = set()
    count = 0
    for cid in list(card_ids):
        row = col.conn.execute(
            "SELECT note_id FROM cards WHERE id = ? AND deleted = 0", (cid,)
        ).fetchone()
        if row is None:
            continue
        col.write("card", cid, {"deleted": 1})
        reviews.clear_state(col, [cid])
        notes_touched.add(row[0])
        count += 1
    for note_id in notes_touched:
        left = col.conn.execute(
            "SELECT count(*) FROM cards WHERE note_id = ? AND deleted = 0", (note_id,)
        ).fetchone()[0]
        if not left:
            col.write("note", note_id, {"deleted": 1})
    return count


def state_name(state: CardState) -> str:
    """``new``, ``learning``, ``review`` or ``relearning``."""
    return STATE_NAMES[state.state]


def faces(col, card: CardInfo, typed: str | None = None) -> tuple[str, str]:
    """The card's (front, back) HTML; ``typed`` is the user's attempt at a type-in answer."""
    from flipdeck.core.cards import render_card
    from flipdeck.store import notetypes

    notetype = notetypes.load(col, card.notetype_id)
    return render_card(
        notetype,
        card.template,
        notetype.values_by_name(card.fields),
        tags=" ".join(card.tags),
        deck=card.deck,
        typed=typed,
    )


def question(col, card: CardInfo) -> str:
    """The card's front as one line of plain text, for listings and the TUI's browser."""
    from flipdeck.core.html import strip_html

    try:
        front, _back = faces(col, card)
    except Exception:  # a card whose template is gone still lists
        front = next(iter(card.fields.values()), "")
    return " ".join(strip_html(front).split())


def label(col, card: CardInfo) -> str:
    """The card's name within its note (template name or ``Cloze N``)."""
    from flipdeck.core.cards import card_label
    from flipdeck.store import notetypes

    try:
        return card_label(notetypes.load(col, card.notetype_id), card.template)
    except NotFound:
        return card.template


def type_in_field(col, card: CardInfo) -> str | None:
    """The field a type-in card asks the user to type, if its front has ``{{type:…}}``."""
    from flipdeck.core.cards import cloze_number
    from flipdeck.core.template import type_answer_field
    from flipdeck.store import notetypes

    notetype = notetypes.load(col, card.notetype_id)
    if notetype.is_cloze or cloze_number(card.template) is not None:
        front = notetype.templates[0].front if notetype.templates else ""
    else:
        front = next((t.front for t in notetype.templates if t.id == card.template), "")
    return type_answer_field(front)

"""Provides applying changes that arrived from other devices: the receiving side of the merge.

Mutable rows merge per field by stamp (``Collection._apply``, the same rule local writes use);
review events merge by union on their id, graves keeping undone ones out; change kinds this
version does not know are kept in ``foreign_changes``. Whatever the changes touch is then
brought up to date, so that derived state is a function of the synced rows alone, whatever
order they arrived in: cards are re-folded (also those whose note, deck or preset arrived
after them), deleted cards get the blank state, note search text is rebuilt (for every note of
a type whose fields were added, removed or reordered), caches are dropped. Rows whose merge
changed no value (every device's genesis defaults) trigger none of this. The caller holds the
transaction (the pull page and its cursor commit together).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from flipdeck.core import merge
from flipdeck.core.errors import NotFound
from flipdeck.store import notes, notetypes, reviews
from flipdeck.store.entities import ENTITIES, REVIEW


@dataclass(frozen=True)
class Incoming:
    """A change as received: the same shape every device writes."""

    id: str
    entity: str
    row: str
    hlc: str
    data: dict


@dataclass
class Applied:
    """What applying a batch did."""

    received: int = 0
    merged: int = 0
    reviews_added: int = 0
    reviews_removed: int = 0
    kept_unknown: int = 0
    cards: set[str] = field(default_factory=set)


STRUCTURE = ("notetype", "ntfield", "nttemplate", "preset", "config", "deck")
"""Entities whose rows other rows' derived state depends on (cached note types, presets and
calendar; search text; scheduling)."""


def apply(col, changes: Iterable[Incoming]) -> Applied:
    """Merge remote changes into the collection (inside the caller's transaction)."""
    result = Applied()
    notes_touched: set[str] = set()
    notetypes_touched: set[str] = set()
    decks_refold: set[str] = set()
    refold_all = False
    for change in changes:
        result.received += 1
        col.clock.observe(change.hlc)
        if change.entity == REVIEW:
            _apply_review(col, change, result)
            continue
        spec = ENTITIES.get(change.entity)
        if spec is None or not spec.keys_valid(change.data):
            _keep(col, change)
            result.kept_unknown += 1
            if spec is None:
                continue
            known = {k: v for k, v in change.data.items() if spec.keys_valid([k])}
        else:
            known = change.data
        before = _row(col, spec, change.row) if change.entity in STRUCTURE else None
        won = col._apply(spec, change.row, known, change.hlc)
        if not won:
            continue
        result.merged += 1
        if change.entity == "note":
            notes_touched.add(change.row)
            if "created" in won:  # a new card's due is its note's creation: cards that came
                result.cards.update(  # before their note are settled now
                    r[0]
                    for r in col.conn.execute(
                        "SELECT id FROM cards WHERE note_id = ?", (change.row,)
                    )
                )
            continue
        if change.entity == "card":
            result.cards.add(change.row)
            if won.get("deleted"):
                reviews.clear_state(col, [change.row])
            continue
        # a row of the structure: act only on values that really changed (every device's
        # defaults arrive once, stamped genesis, and usually change nothing)
        after = _row(col, spec, change.row) or {}
        changed = {k for k in won if before is None or before.get(k) != after.get(k)}
        if not changed:
            continue
        col.invalidate()
        getattr(col, "_notetypes", {}).clear()
        if change.entity == "deck" and "preset_id" in changed:
            decks_refold.add(change.row)
        elif change.entity in ("preset", "config"):
            refold_all = True
        elif change.entity == "notetype" and before is None:
            notetypes_touched.add(change.row)  # its notes may have arrived first
        elif change.entity == "ntfield" and changed & {"notetype_id", "ord", "deleted"}:
            for row in (before, after):
                if row and row.get("notetype_id"):
                    notetypes_touched.add(row["notetype_id"])
    for notetype_id in sorted(notetypes_touched):
        notes.reindex(col, notetype_id)
    _index(col, notes_touched)
    if refold_all:
        reviews.rebuild(col)
    else:
        if decks_refold:
            reviews.refold_decks(col, sorted(decks_refold))
        live = [c for c in result.cards if _live(col, c)]
        reviews.refold(col, live)
    return result


def _row(col, spec, row_id: str) -> dict | None:
    """A row's columns by name, or ``None`` when it does not exist yet."""
    cursor = col.conn.execute(f"SELECT * FROM {spec.table} WHERE id = ?", (row_id,))
    row = cursor.fetchone()
    if row is None:
        return None
    return {d[0]: value for d, value in zip(cursor.description, row, strict=True)}


def _index(col, note_ids: Iterable[str]) -> None:
    """Rebuild the search text of some notes (those whose note type is here)."""
    for note_id in note_ids:
        row = col.conn.execute(
            "SELECT notetype_id, fields FROM notes WHERE id = ?", (note_id,)
        ).fetchone()
        if not row or not row[0]:
            continue
        try:
            notetype = notetypes.load(col, row[0])
        except NotFound:  # its note type has not arrived yet: indexed when it does
            continue
        col.conn.execute(
            "UPDATE notes SET search = ? WHERE id = ?",
            (notes.search_text(notetype, json.loads(row[1] or "{}")), note_id),
        )


def _live(col, card_id: str) -> bool:
    row = col.conn.execute("SELECT deleted FROM cards WHERE id = ?", (card_id,)).fetchone()
    return row is not None and not row[0]


def _apply_review(col, change: Incoming, result: Applied) -> None:
    data = change.data
    present = col.conn.execute("SELECT card_id FROM reviews WHERE id = ?", (change.row,)).fetchone()
    if data.get("deleted"):
        if present:
            col.conn.execute("DELETE FROM reviews WHERE id = ?", (change.row,))
            result.cards.add(present[0])
            result.reviews_removed += 1
        col.conn.execute("INSERT OR IGNORE INTO review_graves(id) VALUES (?)", (change.row,))
        return
    buried = col.conn.execute("SELECT 1 FROM review_graves WHERE id = ?", (change.row,)).fetchone()
    if not merge.review_is_new(change.row, present is not None, buried is not None):
        return
    try:
        col.conn.execute(
            "INSERT INTO reviews(id, card_id, rating, reviewed_at, duration_ms, kind, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                change.row,
                str(data["card_id"]),
                int(data["rating"]),
                int(data["reviewed_at"]),
                data.get("duration_ms"),
                str(data.get("kind", "")),
                data.get("data"),
            ),
        )
    except (KeyError, TypeError, ValueError):
        _keep(col, change)  # a review shaped by a newer version: keep it whole
        result.kept_unknown += 1
        return
    result.reviews_added += 1
    result.cards.add(str(data["card_id"]))


def _keep(col, change: Incoming) -> None:
    col.conn.execute(
        "INSERT OR IGNORE INTO foreign_changes(id, entity, row_id, hlc, data, received)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            change.id,
            change.entity,
            change.row,
            change.hlc,
            json.dumps(change.data, ensure_ascii=False),
            col.now(),
        ),
    )

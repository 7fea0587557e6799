"""Provides applying changes that arrived from other devices: the receiving side of the merge.

Mutable rows merge per field by stamp (``Collection._apply``, the same rule local writes use);
review events merge by union on their id, graves keeping undone ones out; change kinds this
version does not know are kept in ``foreign_changes``. Whatever the changes touch is then
brought up to date: cards are re-folded, note search text rebuilt, caches dropped. The caller
holds the transaction (the pull page and its cursor commit together).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from flipdeck.core import merge
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


def apply(col, changes: Iterable[Incoming]) -> Applied:
    """Merge remote changes into the collection (inside the caller's transaction)."""
    result = Applied()
    notes_touched: set[str] = set()
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
        won = col._apply(spec, change.row, known, change.hlc)
        if not won:
            continue
        result.merged += 1
        if change.entity == "note":
            notes_touched.add(change.row)
        elif change.entity == "card":
            result.cards.add(change.row)
            if won.get("deleted"):
                col.conn.execute(
                    "UPDATE cards SET queue = ? WHERE id = ?", (reviews.DELETED_QUEUE, change.row)
                )
        elif change.entity == "deck" and "preset_id" in won:
            decks_refold.add(change.row)
        elif change.entity in ("preset", "config"):
            refold_all = True
        if change.entity in ("notetype", "ntfield", "nttemplate", "preset", "config", "deck"):
            col.invalidate()
            getattr(col, "_notetypes", {}).clear()
    for note_id in notes_touched:
        row = col.conn.execute(
            "SELECT notetype_id, fields FROM notes WHERE id = ?", (note_id,)
        ).fetchone()
        if row and row[0]:
            try:
                notetype = notetypes.load(col, row[0])
            except Exception:  # its note type has not arrived yet
                continue
            col.conn.execute(
                "UPDATE notes SET search = ? WHERE id = ?",
                (notes.search_text(notetype, json.loads(row[1] or "{}")), note_id),
            )
    if refold_all:
        reviews.rebuild(col)
    else:
        if decks_refold:
            reviews.refold_decks(col, sorted(decks_refold))
        live = [c for c in result.cards if _live(col, c)]
        reviews.refold(col, live)
    return result


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

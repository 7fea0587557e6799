"""Provides applying changes that arrived from other devices: the receiving side of the merge.

Mutable rows merge per field by stamp (``Collection._apply``, the same rule local writes use);
review events merge by union on their id, graves keeping undone ones out; change kinds this
version does not know are kept in ``foreign_changes``. Whatever the changes touch is then
brought up to date, so that derived state is a function of the synced rows alone, whatever
order they arrived in: cards are re-folded (also those whose note, deck or preset arrived
after them; a new card no one has studied is inserted with the state its fold would give it),
deleted cards get the blank state, note search text is rebuilt (for every note of
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
from flipdeck.core.scheduling import NEW
from flipdeck.store import notes, notetypes, reviews
from flipdeck.store.collection import merge_into
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

_BATCH = 500  # ids per IN (…)


def apply(col, changes: Iterable[Incoming]) -> Applied:
    """Merge remote changes into the collection (inside the caller's transaction).

    ``changes`` are :class:`Incoming` or anything with the same attributes (the sync engine
    passes the protocol's changes as they were decoded).

    A page holds thousands of changes, so notes, cards and reviews are merged in memory and
    written together: their rows are read in a few queries first, each change is merged in
    arrival order into that state (:func:`~flipdeck.store.collection.merge_into`, the rule
    local writes use), and each touched row is written once at the end. Nothing in the loop
    reads those tables, so the outcome is the one of applying the changes one by one. The few
    rows of the structure are applied one by one, as their effects depend on what changed.
    """
    changes = list(changes)
    result = Applied()
    rows = _Rows(col, changes)
    log = _Reviews(col, changes)
    notes_touched: set[str] = set()
    notes_created: set[str] = set()
    cards_deleted: list[str] = []
    notetypes_touched: set[str] = set()
    decks_refold: set[str] = set()
    refold_all = False
    shapes: dict[tuple, bool] = {}  # (entity, keys) -> valid: a page repeats a few shapes
    for change in changes:
        result.received += 1
        col.clock.observe(change.hlc)
        if change.entity == REVIEW:
            log.apply(change, result)
            continue
        spec = ENTITIES.get(change.entity)
        if spec is not None:
            shape = (change.entity, *change.data)
            valid = shapes.get(shape)
            if valid is None:
                valid = shapes[shape] = spec.keys_valid(change.data)
        if spec is None or not valid:
            _keep(col, change)
            result.kept_unknown += 1
            if spec is None:
                continue
            known = {k: v for k, v in change.data.items() if spec.keys_valid([k])}
        else:
            known = change.data
        if change.entity not in STRUCTURE:
            won = rows.merge(spec, change.row, known, change.hlc)
            if not won:
                continue
            result.merged += 1
            if change.entity == "note":
                notes_touched.add(change.row)
                if "created" in won:  # a new card's due is its note's creation: cards that
                    notes_created.add(change.row)  # came before their note are settled now
            elif change.entity == "card":
                result.cards.add(change.row)
                if won.get("deleted"):
                    cards_deleted.append(change.row)
            continue
        before = _row(col, spec, change.row)
        won = col._apply(spec, change.row, known, change.hlc)
        if not won:
            continue
        result.merged += 1
        # a row of the structure: act only on values that really changed (every device's
        # defaults arrive once, stamped genesis, and usually change nothing)
        after = _row(col, spec, change.row) or {}
        changed = {k for k in won if before is None or before.get(k) != after.get(k)}
        if not changed:
            continue
        col.invalidate()  # cached presets, schedulers, note types and calendar
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
    rows.index(notes_touched)
    rows.write()
    log.write()
    result.cards.update(_cards_of(col, notes_created))
    reviews.clear_state(col, cards_deleted)  # blank until re-folded (if revived later on)
    for notetype_id in sorted(notetypes_touched):
        notes.reindex(col, notetype_id)
    if refold_all:
        reviews.rebuild(col)
    else:
        if decks_refold:
            reviews.refold_decks(col, sorted(decks_refold))
        # skips deleted cards, and the new ones that were inserted with the state their fold
        # would give them (a first sync brings thousands of cards no one has studied yet)
        reviews.refold(col, result.cards - rows.blank_cards())
    return result


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _BATCH):
        yield ids[start : start + _BATCH]


class _Rows:
    """The notes and cards a page touches, merged in memory and written once each."""

    def __init__(self, col, changes: list) -> None:
        self.col = col
        # (entity, id) -> [clock, map column value or None, columns to write, exists, is new,
        #                  note type id (notes only)]
        self.state: dict[tuple[str, str], list] = {}
        wanted: dict[str, set[str]] = {}
        for change in changes:
            if change.entity in ENTITIES and change.entity not in STRUCTURE:
                wanted.setdefault(change.entity, set()).add(change.row)
        for entity, ids in wanted.items():
            spec = ENTITIES[entity]
            extra = f", {spec.map_column}" if spec.map_column else ""
            if entity == "note":
                extra += ", notetype_id"
            for chunk in _chunks(sorted(ids)):
                for row in col.conn.execute(
                    f"SELECT id, clock{extra} FROM {spec.table}"
                    f" WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ):
                    clock = json.loads(row[1]) if row[1] else {}
                    current = (json.loads(row[2]) if row[2] else {}) if spec.map_column else None
                    notetype_id = row[3] if entity == "note" else None
                    self.state[entity, row[0]] = [clock, current, {}, True, False, notetype_id]

    def merge(self, spec, row_id: str, values: dict, stamp: str) -> dict:
        """The fields of a change that won (as ``Collection._apply`` returns them)."""
        state = self.state.get((spec.name, row_id))
        if state is None:
            state = [{}, {} if spec.map_column else None, {}, False, True, None]
            self.state[spec.name, row_id] = state
        won, columns = merge_into(spec, state[0], state[1], values, stamp)
        if not won and state[3]:
            return won
        state[2].update(columns)  # a row that did not exist is created even by an empty change
        state[3] = True
        if "notetype_id" in columns:
            state[5] = columns["notetype_id"]
        return won

    def index(self, note_ids: Iterable[str]) -> None:
        """Give some notes their search text (those whose note type is here), written with
        the rest of the row: from the merged values and the note types as the page left them,
        which is what reading the rows back afterwards would give."""
        types: dict[str, object] = {}
        for note_id in note_ids:
            _clock, fields, columns, _exists, _new, notetype_id = self.state["note", note_id]
            if not notetype_id:
                continue
            if notetype_id not in types:
                try:
                    types[notetype_id] = notetypes.load(self.col, notetype_id)
                except NotFound:  # its note type has not arrived yet: indexed when it does
                    types[notetype_id] = None
            notetype = types[notetype_id]
            if notetype is not None:
                columns["search"] = notes.search_text(notetype, fields)

    def write(self) -> None:
        """Insert the new rows and update the changed ones, one ``executemany`` per shape.

        New cards go in with the derived state of a card with no reviews (a new card's, due at
        its note's creation, so notes are written first); :meth:`blank_cards` says which of
        them that is final for."""
        groups: dict[tuple, list[tuple]] = {}
        for (entity, row_id), (_clock, _current, columns, _exists, new, _nt) in self.state.items():
            if not columns:
                continue
            table = ENTITIES[entity].table
            if new and table == "cards":
                blank = (reviews.queue_of(NEW, columns.get("suspended")), columns.get("note_id"))
                params = (row_id, *columns.values(), *blank)
            else:
                params = (row_id, *columns.values()) if new else (*columns.values(), row_id)
            groups.setdefault((table, new, tuple(columns)), []).append(params)
        for (table, new, names), params in sorted(groups.items(), key=_notes_first):
            if new:
                marks = ", ".join("?" * (len(names) + 1))
                if table == "cards":
                    names = (*names, "queue", "due")
                    marks += ", ?, (SELECT created FROM notes WHERE id = ?)"
                sql = f"INSERT INTO {table}(id, {', '.join(names)}) VALUES ({marks})"
            else:
                sql = f"UPDATE {table} SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?"
            self.col.conn.executemany(sql, params)

    def blank_cards(self) -> set[str]:
        """The cards this page created, alive and with no review event (stored before or in
        this page, so call it after the reviews are written): the state :meth:`write` gave
        them is their fold, whatever their deck's preset."""
        created = [
            row_id
            for (entity, row_id), (_, _, columns, _, new, _) in self.state.items()
            if new and entity == "card" and columns and not columns.get("deleted")
        ]
        studied: set[str] = set()
        for chunk in _chunks(created):
            studied.update(
                r[0]
                for r in self.col.conn.execute(
                    f"SELECT DISTINCT card_id FROM reviews WHERE card_id IN"
                    f" ({','.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return set(created) - studied


def _notes_first(group) -> bool:
    return group[0][0] != "notes"


class _Reviews:
    """The review log's side of a page: which events are present or buried, read in a few
    queries; additions, removals and graves written together at the end."""

    def __init__(self, col, changes: list) -> None:
        self.col = col
        ids = sorted({c.row for c in changes if c.entity == REVIEW})
        self.present: dict[str, str] = {}  # event id -> card id, as the page goes
        self.buried: set[str] = set()
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            self.present.update(
                col.conn.execute(f"SELECT id, card_id FROM reviews WHERE id IN ({marks})", chunk)
            )
            self.buried.update(
                r[0]
                for r in col.conn.execute(
                    f"SELECT id FROM review_graves WHERE id IN ({marks})", chunk
                )
            )
        self.stored = set(self.present)  # in the table before this page
        self.added: dict[str, tuple] = {}
        self.graves: list[str] = []

    def apply(self, change, result: Applied) -> None:
        data = change.data
        event_id = change.row
        if data.get("deleted"):
            if event_id in self.present:
                result.cards.add(self.present.pop(event_id))
                self.added.pop(event_id, None)
                result.reviews_removed += 1
            if event_id not in self.buried:
                self.buried.add(event_id)
                self.graves.append(event_id)
            return
        if not merge.review_is_new(event_id, event_id in self.present, event_id in self.buried):
            return
        try:
            row = (
                event_id,
                str(data["card_id"]),
                int(data["rating"]),
                int(data["reviewed_at"]),
                data.get("duration_ms"),
                str(data.get("kind", "")),
                data.get("data"),
            )
        except (KeyError, TypeError, ValueError):
            _keep(self.col, change)  # a review shaped by a newer version: keep it whole
            result.kept_unknown += 1
            return
        self.added[event_id] = row
        self.present[event_id] = row[1]
        result.reviews_added += 1
        result.cards.add(row[1])

    def write(self) -> None:
        conn = self.col.conn
        gone = [(i,) for i in self.stored if i not in self.present]
        conn.executemany("DELETE FROM reviews WHERE id = ?", gone)
        conn.executemany(
            "INSERT INTO reviews(id, card_id, rating, reviewed_at, duration_ms, kind, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            list(self.added.values()),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO review_graves(id) VALUES (?)", [(i,) for i in self.graves]
        )


def _cards_of(col, note_ids: Iterable[str]) -> set[str]:
    """The cards of some notes."""
    found: set[str] = set()
    for chunk in _chunks(sorted(note_ids)):
        found.update(
            r[0]
            for r in col.conn.execute(
                f"SELECT id FROM cards WHERE note_id IN ({','.join('?' * len(chunk))})", chunk
            )
        )
    return found


def _row(col, spec, row_id: str) -> dict | None:
    """A row's columns by name, or ``None`` when it does not exist yet."""
    cursor = col.conn.execute(f"SELECT * FROM {spec.table} WHERE id = ?", (row_id,))
    row = cursor.fetchone()
    if row is None:
        return None
    return {d[0]: value for d, value in zip(cursor.description, row, strict=True)}


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

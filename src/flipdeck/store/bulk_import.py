"""Provides the bulk path for writing many new rows at once: notes, cards and review events.

:meth:`Collection.write` reads a row, merges per field and writes the row and its change, one
statement at a time: right for a user's edit, too slow for an import of 100,000 notes. For rows
that do not exist yet the merge has a foregone result (every field wins, the clock maps every
field to the change's stamp), so this module builds exactly the rows and change records
``write`` would have built and inserts them with ``executemany``, in the caller's transaction.
A test checks that the rows it writes equal those ``write`` writes.

Only *new* rows belong here; anything that may already exist goes through ``Collection.write``.
The derived card state (``queue``, ``state``, ``due`` …) is inserted with the card, computed by
the caller from the card's events (``Scheduler.fold``), so no re-fold pass is needed afterwards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import NamedTuple

from flipdeck.core import hlc
from flipdeck.core.ids import uuid7
from flipdeck.core.scheduling import CardState
from flipdeck.store.entities import REVIEW
from flipdeck.store.reviews import queue_of

_quote = json.encoder.encode_basestring  # the C routine json.dumps(ensure_ascii=False) uses

_NOTE_SQL = (
    "INSERT INTO notes(id, notetype_id, guid, fields, tags, created, search, deleted, clock)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)"
)
_CARD_SQL = (
    "INSERT INTO cards(id, note_id, template, ord, deck_id, flag, suspended, buried_until,"
    " deleted, clock, queue, state, step, stability, difficulty, due, interval, reps, lapses,"
    " last_day, last_review) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_REVIEW_SQL = (
    "INSERT INTO reviews(id, card_id, rating, reviewed_at, duration_ms, kind, data)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_CHANGE_SQL = "INSERT INTO changes(id, entity, row_id, hlc, data) VALUES (?, ?, ?, ?, ?)"


def derived_id(*parts: str) -> str:
    """:func:`flipdeck.core.ids.derived_id` done on the hex digest instead of through a
    ``uuid.UUID`` (half its cost); a test checks the two agree."""
    h = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{h[:8]}-{h[8:12]}-8{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def change_ids(col, count: int) -> list[str]:
    """``count`` change ids, in order after every id this process made before."""
    return [uuid7() for _ in range(count)]


def stamps(col, count: int) -> list[str]:
    """``count`` fresh, increasing HLC stamps, as ``count`` calls of ``col.clock.now()`` would
    give (the clock is moved past the last one)."""
    if not count:
        return []
    ms, counter, node = hlc.decode(col.clock.now())
    out = []
    for _ in range(count):
        out.append(f"{ms:012x}{counter:04x}{node}")
        counter += 1
        if counter > 0xFFFF:
            ms, counter = ms + 1, 0
    col.clock.observe(out[-1])
    return out


class NewNote(NamedTuple):
    """A note to insert; ``fields`` maps field id to value, ``tags`` is the stored form."""

    id: str
    notetype_id: str
    guid: str
    fields: Mapping[str, str]
    tags: str
    created: int
    search: str


class NewCard(NamedTuple):
    """A card to insert, with the state its events fold to (``CardState()`` if none)."""

    id: str
    note_id: str
    template: str
    ord: int
    deck_id: str
    flag: int
    suspended: int
    buried_until: int
    state: CardState
    new_due: int  # the due of a new card: its note's creation, as the store orders new cards


class NewReview(NamedTuple):
    """A review event to append (what ``Collection.append_review`` takes)."""

    id: str
    card_id: str
    rating: int
    reviewed_at: int
    duration_ms: int | None
    kind: str
    data: str | None = None


def insert_notes(col, notes: Sequence[NewNote]) -> None:
    """Insert new notes (:class:`NewNote`, or plain tuples in its field order, which bulk
    callers build for speed) and their change records, byte for byte as ``write('note', …)``
    would: the change lists the note's columns then ``fields.<id>`` keys, the clock stamps
    each of them, and the ``fields`` column is the map as ``json.dumps`` writes it."""
    if not notes:
        return
    ids = change_ids(col, len(notes))
    clock_stamps = stamps(col, len(notes))
    rows = []
    changes = []
    # per set of field ids: %-templates of the change and the fields column, and the pieces
    # the clock is joined from (every key maps to the one stamp)
    shapes: dict[tuple, tuple[str, str, list[str]]] = {}
    quote = _quote
    for change_id, stamp, n in zip(ids, clock_stamps, notes, strict=True):
        n_id, n_type, n_guid, n_fields, n_tags, n_created, n_search = n
        fids = tuple(n_fields)
        shape = shapes.get(fids)
        if shape is None:
            shape = shapes[fids] = _note_shape(fids)
        change_template, fields_template, clock_parts = shape
        values = tuple(map(quote, n_fields.values()))
        change = change_template % (
            quote(n_type),
            quote(n_guid),
            quote(n_tags),
            int(n_created),
            *values,
        )
        rows.append(
            (
                n_id,
                n_type,
                n_guid,
                fields_template % values,
                n_tags,
                n_created,
                n_search,
                stamp.join(clock_parts),
            )
        )
        changes.append((change_id, "note", n_id, stamp, change))
    rows.sort()
    col.conn.executemany(_NOTE_SQL, rows)
    col.conn.executemany(_CHANGE_SQL, changes)


def _note_shape(fids: tuple[str, ...]) -> tuple[str, str, list[str]]:
    """The templates :func:`insert_notes` fills for notes with these field ids: keys quoted
    as ``json.dumps`` quotes them (the clock, like ``Collection._apply``'s, in ASCII), and any
    ``%`` in an id doubled so the templates stay templates."""

    def key(text: str, ascii_only: bool = False) -> str:
        quoted = json.dumps(text) if ascii_only else _quote(text)
        return quoted.replace("%", "%%")

    change = '{"notetype_id":%s,"guid":%s,"tags":%s,"created":%d,"deleted":0'
    change += "".join("," + key("fields." + fid) + ":%s" for fid in fids) + "}"
    fields = "{" + ", ".join(key(fid) + ": %s" for fid in fids) + "}"
    keys = ["notetype_id", "guid", "tags", "created", "deleted", *("fields." + f for f in fids)]
    quoted = [json.dumps(k) for k in keys]  # joined with the stamp, not %-filled
    clock = ["{" + quoted[0] + ':"', *('",' + k + ':"' for k in quoted[1:]), '"}']
    return change, fields, clock


def insert_cards(col, cards: Sequence[NewCard]) -> None:
    """Insert new cards (:class:`NewCard` or plain tuples in its order) with their derived
    state, and their change records."""
    if not cards:
        return
    ids = change_ids(col, len(cards))
    rows = []
    changes = []
    for change_id, stamp, c in zip(ids, stamps(col, len(cards)), cards, strict=True):
        c_id, c_note, c_template, c_ord, c_deck, c_flag, c_suspended, c_buried, s, new_due = c
        q = '"' + stamp + '"'
        change = (
            '{"note_id":'
            + _quote(c_note)
            + ',"template":'
            + _quote(c_template)
            + ',"ord":'
            + str(int(c_ord))
            + ',"deck_id":'
            + _quote(c_deck)
            + ',"deleted":0'
        )
        clock = '{"note_id":' + q + ',"template":' + q + ',"ord":' + q + ',"deck_id":' + q
        clock += ',"deleted":' + q
        if c_flag:
            change += ',"flag":' + str(int(c_flag))
            clock += ',"flag":' + q
        if c_suspended:
            change += ',"suspended":' + str(int(c_suspended))
            clock += ',"suspended":' + q
        if c_buried:
            change += ',"buried_until":' + str(int(c_buried))
            clock += ',"buried_until":' + q
        rows.append(
            (
                c_id,
                c_note,
                c_template,
                c_ord,
                c_deck,
                c_flag,
                c_suspended,
                c_buried,
                clock + "}",
                queue_of(s.state, c_suspended),
                s.state,
                s.step,
                s.stability,
                s.difficulty,
                new_due if s.due is None else s.due,
                s.interval,
                s.reps,
                s.lapses,
                s.last_day,
                s.last_review,
            )
        )
        changes.append((change_id, "card", c_id, stamp, change + "}"))
    rows.sort(key=lambda r: r[0])
    col.conn.executemany(_CARD_SQL, rows)
    col.conn.executemany(_CHANGE_SQL, changes)


def append_reviews(col, events: Iterable[NewReview]) -> int:
    """Append review events (ids not yet in the log nor undone) with their change records;
    returns how many were appended. Events already present are skipped, as union merge does."""
    events = list(events)
    if not events:
        return 0
    present = known_review_ids(col, [e.id for e in events])
    events = [e for e in events if e.id not in present]
    if not events:
        return 0
    ids = change_ids(col, len(events))
    rows = []
    changes = []
    for change_id, stamp, e in zip(ids, stamps(col, len(events)), events, strict=True):
        rows.append((e.id, e.card_id, e.rating, e.reviewed_at, e.duration_ms, e.kind, e.data))
        payload = {
            "card_id": e.card_id,
            "rating": e.rating,
            "reviewed_at": e.reviewed_at,
            "duration_ms": e.duration_ms,
            "kind": e.kind,
            "data": e.data,
        }
        changes.append((change_id, REVIEW, e.id, stamp, json.dumps(payload)))
    col.conn.executemany(_REVIEW_SQL, rows)
    col.conn.executemany(_CHANGE_SQL, changes)
    return len(events)


def known_review_ids(col, ids: list[str]) -> set[str]:
    """The ids among ``ids`` that are in the log or were undone (graves)."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for table in ("reviews", "review_graves"):
            found.update(
                r[0]
                for r in col.conn.execute(f"SELECT id FROM {table} WHERE id IN ({marks})", chunk)
            )
    return found


def existing_ids(col, table: str, ids: Iterable[str]) -> dict[str, int]:
    """``{id: deleted}`` for the ids among ``ids`` that have a row in ``table``."""
    if table not in ("notes", "cards"):
        raise ValueError(table)
    ids = list(ids)
    found: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            col.conn.execute(f"SELECT id, deleted FROM {table} WHERE id IN ({marks})", chunk)
        )
    return found


@contextmanager
def deferred_indexes(col, tables: Sequence[str], new_rows: int) -> Iterator[bool]:
    """Drop the secondary indexes of ``tables`` while ``new_rows`` rows go in, and build them
    again afterwards, when that is cheaper: inserting into a big random-keyed index costs a
    page visit per row, building it is one sort. Only when the tables are small next to what
    is coming (a first import, typically); yields whether the indexes were deferred.

    Both steps run in the caller's transaction, so a rollback restores the indexes too.
    """
    marks = ",".join("?" * len(tables))
    existing = sum(
        col.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in tables
        if table in ("notes", "cards")
    )
    if new_rows < 5000 or new_rows < existing:
        yield False
        return
    indexes = col.conn.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({marks})"
        " AND sql IS NOT NULL",
        list(tables),
    ).fetchall()
    for name, _sql in indexes:
        col.conn.execute(f'DROP INDEX "{name}"')
    yield True
    for _name, sql in indexes:
        col.conn.execute(sql)

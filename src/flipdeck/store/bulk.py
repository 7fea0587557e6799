"""Provides the bulk write path for imports: many notes and cards in a few ``executemany`` calls.

:meth:`Collection.write` costs a read, a merge and two statements per row, which is right for a
user's edit and ~10× too slow for a 100k-note import. A note or card an import *creates* has no
local row to merge with, so the outcome of ``write`` is known in advance: every column takes the
import's stamp. :class:`BulkWriter` builds exactly those rows and their change records (the same
JSON ``write`` would produce, so sync cannot tell the difference) and inserts them in batches
inside the caller's transaction. Updates of existing notes still merge against the row's clock.

Duplicate matching reads candidates in one indexed query per batch (by guid) or one per note type
(by first field), never one per imported row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from json.encoder import encode_basestring as _quote  # the C encoder; keeps non-ASCII as is

from flipdeck.core import cards as cardgen
from flipdeck.core import merge
from flipdeck.core.html import strip_html
from flipdeck.core.ids import uuid7
from flipdeck.core.notetypes import NoteType
from flipdeck.core.template import field_is_empty
from flipdeck.store import notes as notes_store

BATCH = 2000
"""Rows buffered before an ``executemany``; large enough to amortise, small enough to stream."""

_ALPHABET = notes_store._GUID_ALPHABET
_GUID_TABLE = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))
_GUID_BATCH = 500  # guids per ``IN (…)`` query, under SQLite's default variable limit


class _Guids:
    """Anki-style guids made in bulk from pooled randomness."""

    def __init__(self) -> None:
        self._bytes = b""
        self._byte_at = 0

    def guid(self) -> str:
        """A 10-character guid in Anki's alphabet, as :func:`notes.new_guid` makes (each
        character from one random byte; ``secrets.choice`` per character costs more than
        inserting the note)."""
        if self._byte_at + 10 > len(self._bytes):
            self._bytes, self._byte_at = os.urandom(10 * 4096), 0
        chunk = self._bytes[self._byte_at : self._byte_at + 10]
        self._byte_at += 10
        return chunk.translate(_GUID_TABLE).decode("ascii")


def fields_json(notetype: NoteType, fields: Mapping[str, str]) -> str:
    """A note's ``fields`` column exactly as :meth:`Collection._apply` writes it for a new note
    (``json.dumps(…, ensure_ascii=False)`` in field order), so stored text can be compared as
    strings to spot unchanged notes without parsing them."""
    get = fields.get
    return "{" + ", ".join([f'"{f.id}": {_quote(get(f.id, ""))}' for f in notetype.fields]) + "}"


@dataclass
class Existing:
    """A live note an imported row may match."""

    id: str
    notetype_id: str
    guid: str
    fields_json: str
    tags: str
    clock: str | None = None  # read when the note is updated (most matches are not)

    _parsed: dict[str, str] | None = None

    @property
    def fields(self) -> dict[str, str]:
        """The field values by field id (parsed once)."""
        if self._parsed is None:
            self._parsed = json.loads(self.fields_json or "{}")
        return self._parsed


_EXISTING_SQL = "SELECT id, notetype_id, guid, fields, tags, clock FROM notes"


def by_guid(col, guids: Iterable[str]) -> dict[str, Existing]:
    """The live notes with these guids, one indexed query per 500 guids."""
    found: dict[str, Existing] = {}
    pending = list(dict.fromkeys(guids))
    for start in range(0, len(pending), _GUID_BATCH):
        chunk = pending[start : start + _GUID_BATCH]
        rows = col.conn.execute(
            f"{_EXISTING_SQL} WHERE deleted = 0 AND guid IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        for row in rows:
            found.setdefault(row[2], Existing(*row))
    return found


def by_first_field(col, notetype: NoteType) -> dict[str, list[Existing]]:
    """The live notes of a note type grouped by their first field's casefolded plain text (the
    first segment of the ``search`` column), in one query on the ``notetype_id`` index.

    Callers confirm a match on the first field as plain text, which is case-sensitive.
    """
    groups: dict[str, list[Existing]] = {}
    rows = col.conn.execute(
        "SELECT id, guid, fields, tags, search FROM notes"
        " WHERE notetype_id = ? AND deleted = 0 ORDER BY id",
        (notetype.id,),
    )
    nt_id = notetype.id
    for note_id, guid, fields, tags, search in rows:
        key = search.split("\x1f", 1)[0] if search else ""
        note = Existing(note_id, nt_id, guid, fields, tags)
        group = groups.get(key)
        if group is None:
            groups[key] = [note]
        else:
            group.append(note)
    return groups


def load_clocks(col, notes: Iterable[Existing]) -> None:
    """Fill in the clocks of notes about to be updated, 500 per query."""
    pending = {n.id: n for n in notes if n.clock is None}
    ids = list(pending)
    for start in range(0, len(ids), _GUID_BATCH):
        chunk = ids[start : start + _GUID_BATCH]
        for note_id, clock in col.conn.execute(
            f"SELECT id, clock FROM notes WHERE id IN ({','.join('?' * len(chunk))})", chunk
        ):
            pending[note_id].clock = clock


def decks_of(col, note_ids: Sequence[str]) -> dict[str, set[str]]:
    """The decks each note has live cards in (for a duplicate scope of note type + deck)."""
    found: dict[str, set[str]] = {}
    for start in range(0, len(note_ids), _GUID_BATCH):
        chunk = list(note_ids[start : start + _GUID_BATCH])
        for note_id, deck_id in col.conn.execute(
            "SELECT note_id, deck_id FROM cards WHERE deleted = 0 AND note_id IN"
            f" ({','.join('?' * len(chunk))})",
            chunk,
        ):
            found.setdefault(note_id, set()).add(deck_id)
    return found


class _Shape:
    """What is the same for every note of one note type: the JSON skeletons and card rules."""

    def __init__(self, notetype: NoteType) -> None:
        self.notetype = notetype
        self.field_ids = [f.id for f in notetype.fields]
        self.field_names = [f.name for f in notetype.fields]
        self.positions = {t.id: i for i, t in enumerate(notetype.templates)}
        # Anki's rule made cheap for the common template "{{Field}}": a card exists when that
        # field is non-empty. Anything else goes through the real template check.
        simple: list[tuple[str, int] | None] = []
        for t in notetype.templates:
            inner = t.front.strip()
            name = inner[2:-2].strip() if inner.startswith("{{") and inner.endswith("}}") else ""
            simple_ok = name in self.field_names and inner.count("{{") == 1
            simple.append((t.id, self.field_names.index(name)) if simple_ok else None)
        self.simple = None if notetype.is_cloze or None in simple else simple
        clock_keys = ["notetype_id", "guid", "tags", "created", "deleted"] + [
            f"fields.{fid}" for fid in self.field_ids
        ]
        self.clock_template = "{" + ",".join(f'"{k}":"@"' for k in clock_keys) + "}"
        self.field_keys = [f'"{fid}": ' for fid in self.field_ids]
        self.change_keys = [f'"fields.{fid}":' for fid in self.field_ids]

    def keys(self, values: Sequence[str]) -> list[str]:
        """The card keys a note with these values (in field order) has."""
        if self.simple is not None:
            return [tid for tid, index in self.simple if not field_is_empty(values[index])]
        by_name = dict(zip(self.field_names, values, strict=True))
        return cardgen.card_keys(self.notetype, by_name)


_CARD_CLOCK = '{"note_id":"@","template":"@","ord":"@","deck_id":"@","deleted":"@"}'
_NOTE_SQL = (
    "INSERT INTO notes(id, notetype_id, guid, fields, tags, created, search, deleted, clock)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)"
)
_CARD_SQL = (
    "INSERT INTO cards(id, note_id, template, ord, deck_id, deleted, clock, queue, state, due)"
    " VALUES (?, ?, ?, ?, ?, 0, ?, 0, 0, ?)"
)
_CHANGE_SQL = "INSERT INTO changes(id, entity, row_id, hlc, data) VALUES (?, ?, ?, ?, ?)"


class BulkWriter:
    """Buffers new notes (with their cards) and note updates; :meth:`flush` writes them.

    Use inside ``col.transaction()`` and call :meth:`flush` before it ends (``close`` does).
    The rows and change records are those :func:`notes.add` and :func:`notes.edit` would write.
    """

    def __init__(self, col) -> None:
        self.col = col
        self._guids = _Guids()
        self._shapes: dict[str, _Shape] = {}
        self._notes: list[tuple] = []
        self._cards: list[tuple] = []
        self._changes: list[tuple] = []
        self._regenerate: list[tuple[str, str | None]] = []
        self.notes_added = 0
        self.cards_added = 0
        self.notes_updated = 0
        self._stamp = ""
        self._card_clock = ""
        self._clocks: dict[str, str] = {}

    def _new_stamp(self) -> str:
        """One stamp for the rows a batch creates: they are written together, as one edit
        would be, and the per-field clock text is then built once per batch, not per row."""
        self._stamp = self.col.clock.now()
        self._card_clock = _CARD_CLOCK.replace("@", self._stamp)
        self._clocks.clear()
        return self._stamp

    def _clock_for(self, shape: _Shape) -> str:
        clock = self._clocks[shape.notetype.id] = shape.clock_template.replace("@", self._stamp)
        return clock

    def shape(self, notetype: NoteType) -> _Shape:
        """The cached per-note-type skeleton."""
        shape = self._shapes.get(notetype.id)
        if shape is None or shape.notetype is not notetype:
            shape = self._shapes[notetype.id] = _Shape(notetype)
        return shape

    def new_guid(self) -> str:
        """A fresh guid (as :func:`notes.new_guid`, faster)."""
        return self._guids.guid()

    def card_keys(self, notetype: NoteType, values: Sequence[str]) -> list[str]:
        """The cards a note with these values (in field order) would have; empty = refused."""
        return self.shape(notetype).keys(values)

    def add(
        self,
        notetype: NoteType,
        deck_id: str,
        values: Sequence[str],
        tags: Sequence[str],
        *,
        guid: str | None = None,
        keys: Sequence[str] | None = None,
        created: int | None = None,
        first_plain: str | None = None,
    ) -> tuple[str, list[str]]:
        """Queue a new note with ``values`` in field order; returns its id and card ids.

        The caller has checked the note is valid (first field not empty, ``keys`` not empty);
        ``first_plain`` is the first field as plain text if the caller has it already.
        """
        shape = self.shape(notetype)
        if keys is None:
            keys = shape.keys(values)
        stamp = self._stamp or self._new_stamp()
        note_id = uuid7()
        created = self.col.now() if created is None else created
        guid = guid or self._guids.guid()
        tag_text = notes_store.format_tags(tags)
        encoded = [_quote(v) for v in values]
        self._notes.append(
            (
                note_id,
                notetype.id,
                guid,
                "{"
                + ", ".join([k + e for k, e in zip(shape.field_keys, encoded, strict=True)])
                + "}",
                tag_text,
                created,
                "\x1f".join(
                    [
                        (
                            first_plain if i == 0 and first_plain is not None else strip_html(v)
                        ).casefold()
                        for i, v in enumerate(values)
                    ]
                ),
                self._clocks.get(notetype.id) or self._clock_for(shape),
            )
        )
        self._changes.append(
            (
                uuid7(),
                "note",
                note_id,
                stamp,
                f'{{"notetype_id":"{notetype.id}","guid":{_quote(guid)},"tags":{_quote(tag_text)},'
                f'"created":{created},"deleted":0,'
                + ",".join([k + e for k, e in zip(shape.change_keys, encoded, strict=True)])
                + "}",
            )
        )
        card_ids = []
        for key in keys:
            digest = bytearray(sha256(f"card\x1f{note_id}\x1f{key}".encode()).digest()[:16])
            digest[6] = (digest[6] & 0x0F) | 0x80  # as core.ids.derived_id: UUIDv8
            digest[8] = (digest[8] & 0x3F) | 0x80
            h = digest.hex()
            cid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            number = cardgen.cloze_number(key) if notetype.is_cloze else None
            ord_ = number - 1 if number else shape.positions.get(key, 0)
            self._cards.append((cid, note_id, key, ord_, deck_id, self._card_clock, created))
            self._changes.append(
                (
                    uuid7(),
                    "card",
                    cid,
                    stamp,
                    f'{{"note_id":"{note_id}","template":{_quote(key)},"ord":{ord_},'
                    f'"deck_id":"{deck_id}","deleted":0}}',
                )
            )
            card_ids.append(cid)
        self.notes_added += 1
        self.cards_added += len(card_ids)
        if len(self._notes) >= BATCH:
            self.flush()
        return note_id, card_ids

    def update(
        self,
        existing: Existing,
        notetype: NoteType,
        values: Mapping[str, str],
        tags: Sequence[str] | None,
        *,
        deck_id: str | None = None,
    ) -> bool:
        """Merge new field values (by field id) and, unless ``None``, tags into a live note, as
        :func:`notes.edit` does; returns whether anything changed. Cards the new content
        implies are created (in ``deck_id``, else beside the note's other cards)."""
        old = existing.fields
        changed = {fid: v for fid, v in values.items() if old.get(fid, "") != v}
        change: dict[str, object] = {f"fields.{fid}": v for fid, v in changed.items()}
        new_tags = None if tags is None else notes_store.format_tags(tags)
        if new_tags is not None and new_tags != existing.tags:
            change["tags"] = new_tags
        if not change:
            return False
        col = self.col
        stamp = col.clock.now()
        if existing.clock is None:
            row = col.conn.execute("SELECT clock FROM notes WHERE id = ?", (existing.id,))
            existing.clock = row.fetchone()[0]
        clock = merge.advance_clock(json.loads(existing.clock or "{}"), change, stamp)
        fields = {**old, **changed}
        search = notes_store.search_text(notetype, fields)
        col.conn.execute(
            "UPDATE notes SET fields = ?, tags = ?, search = ?, clock = ? WHERE id = ?",
            (
                json.dumps(fields, ensure_ascii=False),
                change.get("tags", existing.tags),
                search,
                json.dumps(clock, separators=(",", ":")),
                existing.id,
            ),
        )
        self._changes.append(
            (
                uuid7(),
                "note",
                existing.id,
                stamp,
                json.dumps(change, separators=(",", ":"), ensure_ascii=False),
            )
        )
        if changed:
            # new content may imply new cards (a c2, a filled "Add Reverse"); only then is the
            # note looked at again, one by one
            shape = self.shape(notetype)
            before = set(shape.keys([old.get(fid, "") for fid in shape.field_ids]))
            after = shape.keys([fields.get(fid, "") for fid in shape.field_ids])
            if not before.issuperset(after):
                self._regenerate.append((existing.id, deck_id))
        self.notes_updated += 1
        return True

    def flush(self) -> None:
        """Write what is buffered (inside the caller's transaction)."""
        conn = self.col.conn
        self._stamp = ""  # the next batch gets a stamp of its own
        if self._notes:
            conn.executemany(_NOTE_SQL, self._notes)
            self._notes.clear()
        if self._cards:
            conn.executemany(_CARD_SQL, self._cards)
            self._cards.clear()
        if self._changes:
            conn.executemany(_CHANGE_SQL, self._changes)
            self._changes.clear()

    def close(self) -> None:
        """Flush, then give updated notes any cards their new content implies."""
        self.flush()
        for note_id, deck_id in self._regenerate:
            note = notes_store.load(self.col, note_id)
            self.cards_added += len(notes_store.generate_cards(self.col, note, deck_id))
        self._regenerate.clear()

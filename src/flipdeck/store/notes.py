"""Provides notes: field values keyed by field id, tags, and the cards they generate."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flipdeck.core import cards as cardgen
from flipdeck.core.errors import InvalidInput, NotFound
from flipdeck.core.html import strip_html
from flipdeck.core.ids import derived_id
from flipdeck.core.notetypes import NoteType
from flipdeck.store import notetypes

_GUID_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
)


@dataclass(frozen=True)
class Note:
    """A live note."""

    id: str
    notetype_id: str
    guid: str
    fields: dict[str, str]
    tags: tuple[str, ...]
    created: int


def new_guid() -> str:
    """A 10-character guid in Anki's alphabet (Anki and CSV re-imports match notes by it)."""
    return "".join(secrets.choice(_GUID_ALPHABET) for _ in range(10))


def parse_tags(text: str | Iterable[str]) -> tuple[str, ...]:
    """Tags from space-separated text (or a list), de-duplicated case-insensitively."""
    items = text.split() if isinstance(text, str) else [t for x in text for t in x.split()]
    seen: dict[str, str] = {}
    for tag in items:
        seen.setdefault(tag.casefold(), tag)
    return tuple(seen.values())


def format_tags(tags: Iterable[str]) -> str:
    """Tags as stored: space-separated with a space at each end, so ``LIKE '% x %'`` works."""
    tags = list(tags)
    return f" {' '.join(tags)} " if tags else " "


def search_text(notetype: NoteType, fields: Mapping[str, str]) -> str:
    """What word search looks in: every field's plain text, casefolded."""
    return "\x1f".join(strip_html(fields.get(f.id, "")).casefold() for f in notetype.fields)


def load(col, note_id: str) -> Note:
    """The live note with this id."""
    row = col.conn.execute(
        "SELECT id, notetype_id, guid, fields, tags, created FROM notes"
        " WHERE id = ? AND deleted = 0",
        (note_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no note with id {note_id}")
    return Note(row[0], row[1], row[2], json.loads(row[3]), tuple(row[4].split()), row[5])


def resolve_values(notetype: NoteType, values: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    """Field values keyed by field id, from a list in field order or a mapping by name."""
    if isinstance(values, Mapping):
        return {notetype.field(name).id: value for name, value in values.items()}
    if len(values) > len(notetype.fields):
        raise InvalidInput(
            f"{len(values)} values given but {notetype.name!r} has {len(notetype.fields)} "
            f"fields ({', '.join(f.name for f in notetype.fields)})"
        )
    return {f.id: v for f, v in zip(notetype.fields, values, strict=False)}


def add(
    col,
    notetype: NoteType,
    deck_id: str,
    values: Sequence[str] | Mapping[str, str],
    tags: Iterable[str] = (),
    *,
    guid: str | None = None,
    created: int | None = None,
) -> tuple[Note, list[str]]:
    """Add a note and its cards to ``deck_id``; returns the note and its new card ids.

    Refused, as Anki refuses, when the first field is empty or no card would have a front.
    """
    if not notetype.fields:  # two devices each removed a different last field
        raise InvalidInput(
            f"the note type {notetype.name!r} has no fields",
            hint=f"Add one: flipdeck notetype add-field {notetype.name!r} NAME",
        )
    fields = {f.id: "" for f in notetype.fields} | resolve_values(notetype, values)
    first = notetype.fields[0]
    if not strip_html(fields[first.id]) and "<img" not in fields[first.id]:
        raise InvalidInput(f"the first field ({first.name}) is empty")
    keys = cardgen.card_keys(notetype, notetype.values_by_name(fields))
    if not keys:
        raise InvalidInput(
            "this note would have no cards: every card's front would be empty",
            hint="For a Cloze note, mark text like {{c1::answer}}."
            if notetype.is_cloze
            else f"Fill in the field(s) the front of {notetype.name!r} shows.",
        )
    note_id = col.new_id()
    guid = guid or new_guid()
    created = col.now() if created is None else created
    tag_tuple = parse_tags(tags)
    col.write(
        "note",
        note_id,
        {
            "notetype_id": notetype.id,
            "guid": guid,
            "tags": format_tags(tag_tuple),
            "created": created,
            "deleted": 0,
            **{f"fields.{fid}": value for fid, value in fields.items()},
        },
    )
    _update_search(col, note_id, notetype, fields)
    note = Note(note_id, notetype.id, guid, fields, tag_tuple, created)
    return note, _create_cards(col, note, notetype, keys, deck_id)


def _update_search(col, note_id: str, notetype: NoteType, fields: Mapping[str, str]) -> None:
    col.conn.execute(
        "UPDATE notes SET search = ? WHERE id = ?", (search_text(notetype, fields), note_id)
    )


def reindex(col, notetype_id: str) -> int:
    """Rebuild the search text of every note of a note type (deleted ones too), after its
    fields were added, removed or reordered; returns the notes rewritten.

    Search text is derived from the note's values *and* its type's live fields in order, so a
    structural change makes it stale for every note of the type; keeping it a pure function of
    synced data is what lets every device hold the same text.
    """
    try:
        notetype = notetypes.load(col, notetype_id)
    except NotFound:  # the note type has not arrived yet: its notes are indexed when it does
        return 0
    changed = [
        (text, note_id)
        for note_id, raw, current in col.conn.execute(
            "SELECT id, fields, search FROM notes WHERE notetype_id = ?", (notetype_id,)
        ).fetchall()
        if (text := search_text(notetype, json.loads(raw or "{}"))) != current
    ]
    col.conn.executemany("UPDATE notes SET search = ? WHERE id = ?", changed)
    return len(changed)


def card_id(note_id: str, key: str) -> str:
    """The id of a note's card for a template or cloze key: the same on every device."""
    return derived_id("card", note_id, key)


def _create_cards(
    col, note: Note, notetype: NoteType, keys: Iterable[str], deck_id: str
) -> list[str]:
    from flipdeck.store import reviews

    positions = {t.id: i for i, t in enumerate(notetype.templates)}
    made = []
    for key in keys:
        cid = card_id(note.id, key)
        existing = col.conn.execute("SELECT deleted FROM cards WHERE id = ?", (cid,)).fetchone()
        if existing is not None and not existing[0]:
            continue
        number = cardgen.cloze_number(key)
        ord_ = number - 1 if number else positions.get(key, 0)
        col.write(
            "card",
            cid,
            {"note_id": note.id, "template": key, "ord": ord_, "deck_id": deck_id, "deleted": 0},
        )
        col.conn.execute(
            "UPDATE cards SET queue = 0, state = 0, due = ? WHERE id = ?", (note.created, cid)
        )
        if existing is not None:
            reviews.refold(col, [cid])  # a revived card keeps its history
        made.append(cid)
    return made


def card_ids(col, note_id: str) -> list[str]:
    """The live cards of a note."""
    return [
        r[0]
        for r in col.conn.execute(
            "SELECT id FROM cards WHERE note_id = ? AND deleted = 0", (note_id,)
        )
    ]


def generate_cards(col, note: Note, deck_id: str | None = None) -> list[str]:
    """Create the cards a note's content now implies and it lacks (never deletes any).

    New cards go to the deck of the note's existing cards, else ``deck_id``, else Default.
    """
    notetype = notetypes.load(col, note.notetype_id)
    keys = cardgen.card_keys(notetype, notetype.values_by_name(note.fields))
    if deck_id is None:
        row = col.conn.execute(
            "SELECT deck_id FROM cards WHERE note_id = ? AND deleted = 0 LIMIT 1", (note.id,)
        ).fetchone()
        if row:
            deck_id = row[0]
        else:
            from flipdeck.store import bootstrap, decks

            deck_id = decks.ensure(col, bootstrap.DEFAULT_DECK).id
    return _create_cards(col, note, notetype, keys, deck_id)


def edit(col, note: Note, values: Mapping[str, str]) -> list[str]:
    """Change some fields (by name); returns the ids of cards the edit created."""
    notetype = notetypes.load(col, note.notetype_id)
    new_values = resolve_values(notetype, values)
    changed = {fid: v for fid, v in new_values.items() if note.fields.get(fid, "") != v}
    if not changed:
        return []
    fields = {**note.fields, **changed}
    first = notetype.fields[0]
    if not strip_html(fields.get(first.id, "")) and "<img" not in fields.get(first.id, ""):
        raise InvalidInput(f"the first field ({first.name}) cannot be emptied")
    col.write("note", note.id, {f"fields.{fid}": v for fid, v in changed.items()})
    _update_search(col, note.id, notetype, fields)
    return generate_cards(col, load(col, note.id))


def set_tags(col, note: Note, tags: Iterable[str]) -> None:
    """Replace a note's tags."""
    new = format_tags(parse_tags(tags))
    if new != format_tags(note.tags):
        col.write("note", note.id, {"tags": new})


def add_tags(col, note: Note, tags: Iterable[str]) -> None:
    """Add tags to a note (those it has are left alone)."""
    set_tags(col, note, [*note.tags, *parse_tags(tags)])


def remove_tags(col, note: Note, tags: Iterable[str]) -> None:
    """Remove tags from a note (case-insensitive)."""
    gone = {t.casefold() for t in parse_tags(tags)}
    set_tags(col, note, [t for t in note.tags if t.casefold() not in gone])


def delete(col, note_ids: Iterable[str]) -> int:
    """Delete notes and their cards; the review log is kept. Returns the notes deleted."""
    from flipdeck.store import cards

    count = 0
    for note_id in note_ids:
        cards.delete(col, card_ids(col, note_id))  # deletes the note with its last card
        if col.conn.execute("SELECT deleted FROM notes WHERE id = ?", (note_id,)).fetchone() == (
            0,
        ):
            col.write("note", note_id, {"deleted": 1})
        count += 1
    return count

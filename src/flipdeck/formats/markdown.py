"""Provides Markdown decks: a plain-text format a person writes, edits and keeps in git.

The format is documented for users in ``docs/import-export.md``. In short::

    ---
    deck: Spanish::Verbs
    tags: lang::es
    ---

    ## hablar
    <!-- flipdeck:id=QgrV%7C3%60~Ni -->

    to speak

    tags: pos::verb

A ``## `` heading is the first field (the front), the text under it the second (the back),
``### Name`` sections any further fields, a last line ``tags:`` the note's own tags, and a
``# `` heading the deck for the notes below it. Importing writes an id comment under each new
note's heading: it is the note's guid, so editing the front later updates the same note (and
keeps its review history) instead of making a new one, and importing the file again changes
nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath
from urllib.parse import quote, unquote

from flipdeck.core.cloze import cloze_numbers
from flipdeck.core.errors import NotFound
from flipdeck.core.notetypes import NoteType
from flipdeck.formats.noterows import NoteRow, Policy, import_rows
from flipdeck.formats.summary import ImportFailed, ImportOptions, ImportSummary, Progress
from flipdeck.store import decks as decks_store
from flipdeck.store import notes as notes_store
from flipdeck.store import notetypes as notetypes_store

_ID_LINE = re.compile(r"^\s*<!--\s*flipdeck:(.*?)-->\s*$")
_ATTR = re.compile(r'(\w+)=(?:"([^"]*)"|(\S+))')
_FENCE = re.compile(r"^\s*(```|~~~)")
_TAGS = re.compile(r"^tags:(.*)$", re.IGNORECASE)
_ESCAPED = re.compile(r"^\\(?=[#\\]|tags:|<!--|---)", re.IGNORECASE)
_NEEDS_ESCAPE = re.compile(r"^(?:[#\\]|tags:|<!--|---)", re.IGNORECASE)
_ID_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def encode_id(guid: str) -> str:
    """A guid as it appears in the id comment (percent-encoded, so ``-->`` cannot end it)."""
    return quote(guid, safe="~!*()_.")


@dataclass
class _Note:
    line: int  # 1-based line of the heading
    front: str
    deck: str | None
    guid: str | None = None
    type_name: str | None = None
    id_line: int | None = None  # 0-based index of the id comment, if any
    fields: dict[str, list[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    new_id: bool = False  # the id was made by this import (to be written into the file)


def _front_matter(lines: list[str]) -> tuple[dict[str, str], int]:
    if not lines or lines[0].strip() != "---":
        return {}, 0
    meta: dict[str, str] = {}
    for index in range(1, len(lines)):
        line = lines[index]
        if line.strip() in ("---", "..."):
            return meta, index + 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ImportFailed(
                f"front matter lines are 'key: value', not {line.strip()!r}",
                where=f"line {index + 1}",
            )
        meta[key.strip().lower()] = value.strip().strip("\"'")
    raise ImportFailed(
        "the front matter opened on line 1 is never closed with '---'", where="line 1"
    )


def _attrs(text: str) -> dict[str, str]:
    """``key=value`` and ``key="quoted value"`` pairs of an id comment."""
    return {key: quoted or bare for key, quoted, bare in _ATTR.findall(text)}


def _tag_list(text: str) -> tuple[str, ...]:
    return tuple(t for t in re.split(r"[\s,\[\]]+", text) if t)


def _unescape(line: str) -> str:
    return _ESCAPED.sub("", line, count=1)


def _value(lines: list[str]) -> str:
    """A field from its lines: outer blank lines dropped, line breaks become ``<br>``."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "<br>".join(lines[start:end])


def parse_notes(text: str) -> tuple[dict[str, str], list[_Note], list[str]]:
    """The front matter, the notes and the file's lines."""
    lines = text.replace("\r\n", "\n").split("\n")
    meta, start = _front_matter(lines)
    notes: list[_Note] = []
    deck: str | None = None
    current: _Note | None = None
    section = ""
    fenced = False
    for index in range(start, len(lines)):
        line = lines[index]
        if not fenced and line.startswith("# ") and line[2:].strip():
            deck, current = line[2:].strip(), None
            continue
        if not fenced and line.startswith("## ") and line[3:].strip():
            current = _Note(index + 1, _unescape(line[3:].strip()), deck)
            section = ""
            current.fields[section] = []
            current.order.append(section)
            notes.append(current)
            continue
        if current is None:
            continue  # prose before the first note, or under a deck heading
        if not fenced and current.id_line is None and not any(current.fields[""]):
            m = _ID_LINE.match(line)
            if m and len(current.order) == 1:
                attrs = _attrs(m.group(1))
                current.guid = unquote(attrs["id"]) if attrs.get("id") else None
                current.type_name = attrs.get("type")
                current.id_line = index
                continue
        if not fenced and line.startswith("### ") and line[4:].strip():
            section = line[4:].strip()
            if section in current.fields:
                raise ImportFailed(f"field {section!r} is given twice", where=f"line {index + 1}")
            current.fields[section] = []
            current.order.append(section)
            continue
        if _FENCE.match(line):
            fenced = not fenced
        current.fields[section].append(line)
    for note in notes:
        # a last non-blank line "tags: …" (outside a code block) holds the note's tags
        last = note.order[-1]
        body = note.fields[last]
        for i in range(len(body) - 1, -1, -1):
            if body[i].strip():
                m = _TAGS.match(body[i])
                if m:
                    note.tags = _tag_list(m.group(1))
                    del body[i]
                break
        for name in note.order:
            note.fields[name] = [_unescape(x) for x in note.fields[name]]
    return meta, notes, lines


def _notetype(col, name: str, cache: dict[str, NoteType], where: str) -> NoteType:
    key = name.casefold()
    if key not in cache:
        try:
            cache[key] = notetypes_store.find(col, name)
        except NotFound as error:
            raise ImportFailed(
                f"{error.message}. {error.hint or ''}".strip(), where=where
            ) from None
    return cache[key]


def parse(
    col, text: str, options: ImportOptions, name: str | None = None
) -> tuple[list[NoteRow], list[_Note], list[str], str]:
    """Rows to import, the parsed notes and lines (for writing ids back), the default deck."""
    meta, notes, lines = parse_notes(text)
    cache: dict[str, NoteType] = {}
    default_type = options.notetype or meta.get("notetype") or meta.get("type") or "Basic"
    base = _notetype(col, default_type, cache, "front matter")
    stem = PurePath(name).stem if name else None
    default_deck = options.deck or meta.get("deck") or stem or "Default"
    file_tags = _tag_list(meta.get("tags", "")) + tuple(t for x in options.tags for t in x.split())
    rows: list[NoteRow] = []
    seen: set[str] = set()
    for note in notes:
        where = f"line {note.line}"
        if note.type_name:
            notetype = _notetype(col, note.type_name, cache, where)
        elif not base.is_cloze and cloze_numbers(note.front):
            notetype = _notetype(col, "Cloze", cache, where)
        else:
            notetype = base
        values = {notetype.fields[0].id: note.front}
        for section in note.order:
            if section == "":
                if len(notetype.fields) > 1:
                    values[notetype.fields[1].id] = _value(note.fields[section])
                elif _value(note.fields[section]):
                    raise ImportFailed(
                        f"note type {notetype.name!r} has one field; the text under the "
                        "heading has nowhere to go",
                        where=where,
                    )
                continue
            try:
                target = notetype.field(section)
            except NotFound as error:
                raise ImportFailed(
                    f"{error.message}. {error.hint or ''}".strip(), where=where
                ) from None
            values[target.id] = _value(note.fields[section])
        for f in notetype.fields:
            values.setdefault(f.id, "")
        if note.guid in seen:
            note.guid = None  # a copied card: a new note, with an id of its own
        if note.guid is None:
            note.guid = notes_store.new_guid()
            note.new_id = True
        seen.add(note.guid)
        rows.append(
            NoteRow(
                where=where,
                notetype=notetype,
                values=values,
                tags=notes_store.parse_tags([*file_tags, *note.tags]),
                deck=note.deck or default_deck,
                guid=note.guid,
                tags_given=True,
            )
        )
    try:
        for row in rows:
            row.deck = decks_store.normalise(row.deck or default_deck)
    except Exception as error:
        raise ImportFailed(str(error)) from None
    return rows, notes, lines, default_deck


def _id_comment(guid: str, type_name: str | None) -> str:
    extra = f' type="{type_name}"' if type_name else ""
    return f"<!-- flipdeck:id={encode_id(guid)}{extra} -->"


def import_text(
    col,
    text: str,
    options: ImportOptions,
    progress: Progress,
    *,
    name: str | None = None,
    explicit_policy: bool = False,
) -> tuple[ImportSummary, str | None]:
    """Import a Markdown deck inside the caller's transaction; returns the summary and the
    text with id comments written in (``None`` if the file already had them all)."""
    rows, notes, lines, default_deck = parse(col, text, options, name)
    summary = ImportSummary(format="md", dry_run=options.dry_run)
    if not rows:
        raise ImportFailed("no notes found: each note starts with a '## ' heading (its front)")
    outcomes = import_rows(
        col,
        rows,
        summary,
        policy=Policy(options.on_duplicate),
        default_deck=default_deck,
        progress=progress,
    )
    inserts: dict[int, str] = {}
    replaces: dict[int, str] = {}
    for note, outcome in zip(notes, outcomes, strict=True):
        if outcome.action == "error" or outcome.guid is None:
            continue
        comment = _id_comment(outcome.guid, note.type_name)
        if note.id_line is None:
            inserts[note.line - 1] = comment
        elif note.new_id or unquote_attr(lines[note.id_line]) != outcome.guid:
            replaces[note.id_line] = comment
    if not inserts and not replaces:
        return summary, None
    out: list[str] = []
    for index, line in enumerate(lines):
        out.append(replaces.get(index, line))
        if index in inserts:
            out.append(inserts[index])
    return summary, "\n".join(out)


def unquote_attr(line: str) -> str | None:
    """The guid an id comment line holds."""
    m = _ID_LINE.match(line)
    if not m:
        return None
    attrs = _attrs(m.group(1))
    return unquote(attrs["id"]) if attrs.get("id") else None


# -- export ------------------------------------------------------------------------------------


def _lines(value: str) -> list[str]:
    return [("\\" + x if _NEEDS_ESCAPE.match(x) else x) for x in value.split("<br>")]


def export_text(col, note_ids: list[str]) -> str:
    """Notes as a Markdown deck (one file; a ``# `` heading per deck when there are several)."""
    from flipdeck.formats.csvfile import export_rows

    _, rows = export_rows(col, note_ids)
    by_deck: dict[str, list[list[str]]] = {}
    for row in rows:
        by_deck.setdefault(row[2], []).append(row)
    out: list[str] = []
    several = len(by_deck) > 1
    if not several and by_deck:
        out += ["---", f"deck: {next(iter(by_deck))}", "---", ""]
    cache: dict[str, NoteType] = {}
    for deck_name in sorted(by_deck, key=str.casefold):
        if several:
            out += [f"# {deck_name}", ""]
        for guid, type_name, _deck, *rest in by_deck[deck_name]:
            *values, tags = rest
            notetype = cache.get(type_name) or notetypes_store.find(col, type_name)
            cache[type_name] = notetype
            front = values[0].replace("\n", " ")
            implied = "Cloze" if cloze_numbers(front) else "Basic"
            type_attr = None if notetype.name == implied else notetype.name
            out.append("## " + ("\\" + front if front.startswith("\\") else front))
            out.append(_id_comment(guid, type_attr))
            out.append("")
            if len(values) > 1 and values[1]:
                out += _lines(values[1])
                out.append("")
            for f, value in zip(notetype.fields[2:], values[2:], strict=False):
                if value:
                    out += [f"### {f.name}", ""]
                    out += _lines(value)
                    out.append("")
            if tags:
                out += [f"tags: {tags}", ""]
    return "\n".join(out)

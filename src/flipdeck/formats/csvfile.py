"""Provides CSV/TSV/TXT import and export with Anki's header directives (Anki 2.1.54+).

A file may start with ``#key:value`` lines (``#separator:Tab``, ``#html:true``, ``#columns:…``,
``#notetype:``, ``#deck:``, ``#tags:``, ``#notetype column:``, ``#deck column:``,
``#tags column:``, ``#guid column:``, ``#if matches:``, ``#match scope:``); ``# text`` lines are
comments. Command-line options (:class:`ImportOptions`) do the same for files without headers
and win over them, since the person typing them knows what they want this time.

Unlike Anki, which guesses its way through damaged files, a malformed file is refused as a whole
(:class:`ImportFailed` naming the line and column): an unterminated quote silently swallowing the
rest of the file into one field, or a row with a column too few, is a file that does not say
what its author meant.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from flipdeck.core.errors import NotFound
from flipdeck.core.notetypes import NoteType
from flipdeck.formats.noterows import MAX_FIELD_CHARS, NoteRow, Policy, import_rows
from flipdeck.formats.summary import ImportFailed, ImportOptions, ImportSummary, Progress
from flipdeck.store import decks as decks_store
from flipdeck.store import notetypes as notetypes_store

SEPARATORS = {
    "comma": ",",
    "semicolon": ";",
    "tab": "\t",
    "space": " ",
    "pipe": "|",
    "colon": ":",
}
_SEPARATOR_NAMES = {v: k for k, v in SEPARATORS.items()}
_SPECIAL = re.compile(r"[&<>\"'\n]")  # what #html:false escapes
_IF_MATCHES = {"update current": "update", "keep current": "skip", "keep both": "add"}
_DIRECTIVE = re.compile(r"#([A-Za-z][A-Za-z ]*?)\s*:(.*)\Z")
_KNOWN = (
    "separator",
    "html",
    "tags",
    "columns",
    "notetype",
    "deck",
    "notetype column",
    "deck column",
    "tags column",
    "guid column",
    "if matches",
    "match scope",
)


@dataclass
class Header:
    """What the ``#`` lines at the top of a file say (``None`` = not said)."""

    separator: str | None = None
    html: bool | None = None
    tags: tuple[str, ...] = ()
    notetype: str | None = None
    deck: str | None = None
    notetype_column: int | None = None
    deck_column: int | None = None
    tags_column: int | None = None
    guid_column: int | None = None
    on_duplicate: str | None = None
    scope_deck: bool = False
    lines: int = 0  # how many lines the header takes
    raw: dict[str, tuple[int, str]] = field(default_factory=dict)


def decode(data: bytes, name: str = "the file") -> str:
    """The text of a UTF-8 file (a BOM is dropped); anything else is refused with the position
    of the first bad byte, since guessing an encoding silently garbles accents."""
    if not data:
        raise ImportFailed(f"{name} is empty: there is nothing to import")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        start = error.start
        line_start = data.rfind(b"\n", 0, start) + 1
        line = data.count(b"\n", 0, start) + 1
        column = len(data[line_start:start].decode("utf-8", "replace")) + 1
        raise ImportFailed(
            f"{name} is not UTF-8 text (byte 0x{data[start]:02X}); save it as UTF-8 and import "
            "it again",
            where=f"line {line}, column {column}",
        ) from None


def _number(key: str, value: str, line: int) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise ImportFailed(
            f"#{key}: needs a column number (1 is the first column), not {value.strip()!r}",
            where=f"line {line}",
        )
    return int(value)


def parse_header(lines: list[str]) -> Header:
    """Read the directives at the top of a file (``lines`` without line ends)."""
    header = Header()
    for index, line in enumerate(lines):
        number = index + 1
        if index == 0 and line.lower().startswith("tags:"):  # the pre-2.1.54 form
            header.tags = tuple(line[5:].split())
            header.lines = number
            continue
        if not line.startswith("#"):
            break
        header.lines = number
        match = _DIRECTIVE.match(line)
        if match is None:
            continue  # "# a comment"
        key, value = match.group(1).strip().lower(), match.group(2).strip()
        if key not in _KNOWN:
            raise ImportFailed(
                f"unknown header directive '#{match.group(1)}:' (known: "
                + ", ".join(f"#{k}:" for k in _KNOWN)
                + "); start a comment with '# '",
                where=f"line {number}",
            )
        header.raw[key] = (number, value)
    for key, (number, value) in header.raw.items():
        where = f"line {number}"
        if key == "separator":
            sep = SEPARATORS.get(value.lower(), value if len(value) == 1 else None)
            if sep is None or sep in '"\n\r':
                raise ImportFailed(
                    f"#separator: must be Comma, Semicolon, Tab, Space, Pipe, Colon or one "
                    f"character, not {value!r}",
                    where=where,
                )
            header.separator = sep
        elif key == "html":
            if value.lower() not in ("true", "false"):
                raise ImportFailed(f"#html: must be true or false, not {value!r}", where=where)
            header.html = value.lower() == "true"
        elif key == "tags":
            header.tags = tuple(value.split())
        elif key == "notetype":
            header.notetype = value
        elif key == "deck":
            header.deck = value
        elif key.endswith(" column"):
            setattr(header, key.replace(" ", "_"), _number(key, value, number))
        elif key == "if matches":
            if value.lower() not in _IF_MATCHES:
                raise ImportFailed(
                    f"#if matches: must be 'update current', 'keep current' or 'keep both', "
                    f"not {value!r}",
                    where=where,
                )
            header.on_duplicate = _IF_MATCHES[value.lower()]
        elif key == "match scope":
            scope = value.lower().replace(" ", "")
            if scope not in ("notetype", "notetype+deck"):
                raise ImportFailed(
                    f"#match scope: must be 'notetype' or 'notetype + deck', not {value!r}",
                    where=where,
                )
            header.scope_deck = scope == "notetype+deck"
    return header


def _guess_separator(first_line: str, name: str | None) -> str:
    if "\t" in first_line or (name or "").lower().endswith((".tsv", ".txt")):
        return "\t"
    for sep in (",", ";", "|"):
        if sep in first_line:
            return sep
    return "\t"


def _locate(text: str, delimiter: str) -> tuple[int, int, str]:
    """Where a record that Python's csv reader refused goes wrong: (line offset, column, what).

    ``text`` starts at the record's first line. Only run on the error path.
    """
    i, n, line, column, at_start = 0, len(text), 0, 1, True
    while i < n:
        c = text[i]
        if at_start and c == '"':
            open_line, open_column = line, column
            i += 1
            while True:
                if i >= n:
                    return open_line, open_column, "this quoted field is never closed"
                if text[i] == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        i += 2
                        continue
                    i += 1
                    break
                if text[i] == "\n":
                    line += 1
                i += 1
            if i < n and text[i] not in (delimiter, "\n"):
                return line, column, "text follows the closing quote of this field"
            at_start = False
            continue
        if c == delimiter:
            column += 1
            at_start = True
        elif c == "\n":
            break
        else:
            at_start = False
        i += 1
    return 0, column, "this field is malformed"


def read_records(text: str, delimiter: str, first_line: int) -> Iterable[tuple[int, list[str]]]:
    """``(line number, cells)`` per record; blank lines are skipped."""
    if csv.field_size_limit() < MAX_FIELD_CHARS + 1:
        csv.field_size_limit(MAX_FIELD_CHARS + 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    previous = 0
    try:
        for cells in reader:
            start = previous + 1
            previous = reader.line_num
            if not cells or cells == [""]:
                continue
            yield first_line + start - 1, cells
    except csv.Error as error:
        start = previous + 1
        rest = "".join(text.splitlines(keepends=True)[start - 1 :])
        if "field larger than field limit" in str(error):
            raise ImportFailed(
                f"a field has more than {MAX_FIELD_CHARS:,} characters; nothing was imported",
                where=f"line {first_line + start - 1}",
            ) from None
        offset, column, what = _locate(rest, delimiter)
        raise ImportFailed(
            f"{what} (CSV: {error})",
            where=f"line {first_line + start - 1 + offset}, column {column}",
        ) from None


def _notetype(col, name: str, cache: dict[str, NoteType], where: str | None) -> NoteType:
    key = name.casefold()
    if key not in cache:
        try:
            cache[key] = notetypes_store.find(col, name)
        except NotFound as error:
            try:
                cache[key] = notetypes_store.load(col, name)
            except NotFound:
                raise ImportFailed(
                    f"{error.message}. {error.hint or ''}".strip(), where=where
                ) from None
    return cache[key]


def _deck_name(col, value: str) -> str:
    """A deck given by name, or by the id of an existing deck."""
    try:
        return decks_store.get(col, value).name
    except NotFound:
        return value


def _split_header(text: str) -> tuple[list[str], str]:
    """The header lines at the top and the rest of the text (found without splitting the
    whole file into lines)."""
    lines: list[str] = []
    pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end]
        if not (line.startswith("#") or (not lines and line.lower().startswith("tags:"))):
            break
        lines.append(line)
        pos = end + 1
    return lines, text[pos:]


def parse(
    col, text: str, options: ImportOptions, name: str | None = None
) -> tuple[list[NoteRow], Header, str]:
    """The notes a CSV/TSV text holds, with its header and the default deck, or ImportFailed."""
    text = text.replace("\r\n", "\n")
    head, body = _split_header(text)
    header = parse_header(head)
    first_data = next((ln for ln in body[:65536].split("\n") if ln.strip()), "")
    delimiter = options.delimiter or header.separator or _guess_separator(first_data, name)
    if options.delimiter:
        delimiter = SEPARATORS.get(options.delimiter.lower(), options.delimiter)
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise ImportFailed(
                f"--delimiter must be tab, comma, semicolon, space, pipe, colon or one character"
                f" other than a quote, not {options.delimiter!r}"
            )
    is_html = bool(header.html)
    labels = list(options.fields) if options.fields else None
    if labels is None and "columns" in header.raw:
        value = header.raw["columns"][1]
        labels = next(csv.reader([value], delimiter=delimiter))
    records = list(read_records(body, delimiter, header.lines + 1))
    if not records:
        raise ImportFailed("the file has no rows to import (only header lines)")
    width = len(labels) if labels else len(records[0][1])
    meta = {
        "notetype": header.notetype_column,
        "deck": header.deck_column,
        "tags": header.tags_column,
        "guid": header.guid_column,
    }
    if labels:
        for index, label in enumerate(labels, start=1):
            kind = label.strip().casefold()
            if kind in meta and meta[kind] is None and kind != "notetype":
                meta[kind] = index
    for kind, column in meta.items():
        if column is not None and column > width:
            line = header.raw.get(f"{kind} column", (None,))[0]
            raise ImportFailed(
                f"#{kind} column: is {column}, but the rows have {width} column(s)",
                where=f"line {line}" if line else None,
            )
    meta_columns = {c for c in meta.values() if c}
    free = [c for c in range(1, width + 1) if c not in meta_columns]
    notetypes: dict[str, NoteType] = {}
    global_type = None
    mapping: list[tuple[str, int]] = []  # (field id, 1-based column) for a global note type
    if meta["notetype"] is None:
        type_name = options.notetype or header.notetype or "Basic"
        from_header = "notetype" in header.raw and not options.notetype
        where = f"line {header.raw['notetype'][0]}" if from_header else None
        global_type = _notetype(col, type_name, notetypes, where)
        by_label = {}
        if labels:
            for index, label in enumerate(labels, start=1):
                for f in global_type.fields:
                    if f.name.casefold() == label.strip().casefold() and index not in meta_columns:
                        by_label.setdefault(f.id, index)
        if by_label:
            mapping = sorted(by_label.items(), key=lambda item: item[1])
        else:
            mapping = list(zip((f.id for f in global_type.fields), free, strict=False))
        used = {c for _, c in mapping}
        if meta["tags"] is None:  # Anki: the first free column after the fields holds tags
            last = max(used, default=0)
            spare = [c for c in free if c > last and c not in used]
            if spare:
                meta["tags"] = spare[0]
    deck = options.deck or (header.deck and _deck_name(col, header.deck)) or "Default"
    try:
        deck = decks_store.normalise(deck)
    except Exception as error:  # InvalidInput
        where = (
            f"line {header.raw['deck'][0]}" if "deck" in header.raw and not options.deck else None
        )
        raise ImportFailed(str(error), where=where) from None
    global_tags = tuple(header.tags) + tuple(t for x in options.tags for t in x.split())
    rows: list[NoteRow] = []
    tags_column, deck_column, guid_column = meta["tags"], meta["deck"], meta["guid"]
    deck_names: dict[str, str] = {}

    def deck_of(value: str, line: int) -> str:
        if value not in deck_names:
            try:
                deck_names[value] = decks_store.normalise(_deck_name(col, value))
            except Exception as error:  # InvalidInput: its message says what is wrong
                raise ImportFailed(str(error), where=f"line {line}") from None
        return deck_names[value]

    escape, special = html.escape, _SPECIAL.search
    for line, cells in records:
        if len(cells) != width:
            raise ImportFailed(
                f"this row has {len(cells)} column(s), but "
                + (f"the header names {width}" if labels else f"the first row has {width}")
                + "; every row needs the same number of columns (quote a field that holds the"
                f" separator {delimiter!r})",
                where=f"line {line}, column {min(len(cells), width) + 1}",
            )
        if max(map(len, cells)) > MAX_FIELD_CHARS:
            column, cell = next((i, c) for i, c in enumerate(cells, 1) if len(c) > MAX_FIELD_CHARS)
            raise ImportFailed(
                f"this field has {len(cell):,} characters, more than the {MAX_FIELD_CHARS:,} "
                "a field may hold; nothing was imported",
                where=f"line {line}, column {column}",
            )
        if global_type is not None:
            notetype = global_type
            pairs = [(fid, cells[c - 1]) for fid, c in mapping]
        else:
            column = meta["notetype"]
            notetype = _notetype(col, cells[column - 1], notetypes, f"line {line}, column {column}")
            values = [cells[c - 1] for c in free]
            if len(values) > len(notetype.fields) and any(values[len(notetype.fields) :]):
                extra = free[len(notetype.fields)]
                raise ImportFailed(
                    f"note type {notetype.name!r} has {len(notetype.fields)} field(s); this row "
                    "has more values",
                    where=f"line {line}, column {extra}",
                )
            pairs = list(zip((f.id for f in notetype.fields), values, strict=False))
        if is_html:
            values_by_id = dict(pairs)
        else:
            values_by_id = {
                fid: escape(v).replace("\n", "<br>") if special(v) else v for fid, v in pairs
            }
        row_deck = deck
        if deck_column and cells[deck_column - 1].strip():
            row_deck = deck_of(cells[deck_column - 1].strip(), line)
        guid = cells[guid_column - 1].strip() if guid_column else None
        rows.append(
            NoteRow(
                f"line {line}",
                notetype,
                values_by_id,
                global_tags + tuple(cells[tags_column - 1].split()) if tags_column else global_tags,
                row_deck,
                guid or None,
                bool(tags_column),
            )
        )
    return rows, header, deck


def import_text(
    col,
    text: str,
    options: ImportOptions,
    progress: Progress,
    *,
    name: str | None = None,
    explicit_policy: bool = False,
) -> ImportSummary:
    """Import CSV/TSV text inside the caller's transaction.

    ``explicit_policy`` says ``options.on_duplicate`` was given by the user (it then wins over
    the file's ``#if matches:``).
    """
    rows, header, deck = parse(col, text, options, name)
    on_duplicate = options.on_duplicate
    if header.on_duplicate and not explicit_policy:
        on_duplicate = header.on_duplicate
    summary = ImportSummary(format="csv", dry_run=options.dry_run)
    import_rows(
        col,
        rows,
        summary,
        policy=Policy(on_duplicate, scope_deck=header.scope_deck),
        default_deck=deck,
        progress=progress,
    )
    return summary


# -- export ------------------------------------------------------------------------------------


def _line(cells: list[str], delimiter: str) -> str:
    """One CSV row ending in a newline. The writer is told the line ends are ``\r\n`` so
    that it quotes fields holding a lone ``\r`` too (readers treat it as a line break)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(cells)
    text = buffer.getvalue()[:-2] + "\n"
    if text.startswith("#"):  # a guid starting with "#" must not read as a header line
        first = '"' + cells[0].replace('"', '""') + '"'
        text = first + (delimiter + _line(cells[1:], delimiter) if len(cells) > 1 else "\n")
    return text


def export_rows(col, note_ids: list[str]) -> tuple[int, list[list[str]]]:
    """(widest field count, rows of guid, note type, deck, fields…, tags) for these notes."""
    import json

    rows = []
    width = 0
    cache: dict[str, NoteType] = {}
    deck_names = {d.id: d.name for d in decks_store.all_decks(col)}
    for start in range(0, len(note_ids), 500):
        chunk = note_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found = {
            r[0]: r
            for r in col.conn.execute(
                "SELECT n.id, n.guid, n.notetype_id, n.fields, n.tags,"
                " (SELECT c.deck_id FROM cards c WHERE c.note_id = n.id AND c.deleted = 0"
                "  ORDER BY c.ord LIMIT 1)"
                f" FROM notes n WHERE n.id IN ({marks})",
                chunk,
            )
        }
        for note_id in chunk:
            _, guid, nt_id, fields, tags, deck_id = found[note_id]
            if nt_id not in cache:
                cache[nt_id] = notetypes_store.load(col, nt_id)
            notetype = cache[nt_id]
            values = json.loads(fields)
            cells = [values.get(f.id, "") for f in notetype.fields]
            width = max(width, len(cells))
            rows.append(
                [guid, notetype.name, deck_names.get(deck_id, "Default"), *cells, tags.strip()]
            )
    return width, rows


def export_text(col, note_ids: list[str], delimiter: str = "\t") -> str:
    """Notes as Anki's "Notes in Plain Text" (guid, note type, deck, fields…, tags), with the
    headers Anki writes, so Anki (and flipdeck) re-import it matching notes by guid."""
    width, rows = export_rows(col, note_ids)
    name = _SEPARATOR_NAMES.get(delimiter, delimiter)
    out = [
        f"#separator:{name}\n",
        "#html:true\n",
        "#guid column:1\n",
        "#notetype column:2\n",
        "#deck column:3\n",
        f"#tags column:{4 + width}\n",
    ]
    for row in rows:
        fields = row[3:-1]
        padded = [*row[:3], *fields, *([""] * (width - len(fields))), row[-1]]
        out.append(_line(padded, delimiter))
    return "".join(out)

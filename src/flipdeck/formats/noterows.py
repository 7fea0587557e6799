"""Provides the one import engine the text formats share: rows of notes in, a summary out.

CSV/TSV and Markdown differ only in how they are read; what happens to a note once read is the
same: find its note type and deck, look for a duplicate (by guid, else by first field within the
note type, as Anki does), then add, update or skip it under the duplicate policy. Matching reads
every candidate **before** anything is written, so rows of one file never match each other
(Anki adds every row of a file that repeats a first field) and re-importing a file matches each
row to the note it made last time, which is what makes a re-import change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flipdeck.core.html import strip_html
from flipdeck.core.notetypes import NoteType
from flipdeck.formats.summary import ImportSummary, OnDuplicate, Progress, no_progress
from flipdeck.store import decks as decks_store
from flipdeck.store import notes as notes_store
from flipdeck.store.bulk import (
    BulkWriter,
    Existing,
    by_first_field,
    by_guid,
    decks_of,
    fields_json,
    load_clocks,
)

MAX_FIELD_CHARS = 1_000_000
"""The largest field accepted (Anki's editor slows to a crawl long before; a bigger field is a
file that is not what it claims to be, e.g. a binary or a runaway quote)."""


@dataclass
class NoteRow:
    """One note as a text file gives it.

    ``values`` maps field ids to values for the fields the file sets (others stay empty on a new
    note and untouched on an update). ``tags_given`` says the row carries its own tags (a tags
    column, a Markdown ``tags:`` line): an update then replaces the note's tags rather than
    adding to them.
    """

    where: str
    notetype: NoteType
    values: dict[str, str]
    tags: tuple[str, ...] = ()
    deck: str | None = None
    guid: str | None = None
    tags_given: bool = False


@dataclass
class Outcome:
    """What became of one row: ``added``, ``updated``, ``unchanged``, ``skipped`` or ``error``."""

    action: str
    guid: str | None = None
    note_id: str | None = None


@dataclass
class Policy:
    """How duplicates are found and resolved."""

    on_duplicate: OnDuplicate = "update"
    scope_deck: bool = False  # Anki's "match scope: note type + deck"


@dataclass
class _Plan:
    row: NoteRow
    action: str
    values: list[str] = field(default_factory=list)  # in field order
    key: str = ""  # the first field as plain text
    existing: Existing | None = None
    message: str = ""
    same: bool | None = None  # known to equal ``existing`` (None: not checked yet)
    tags: tuple[str, ...] | None = None  # the tags an update would leave, when known


def _same(existing: Existing, row: NoteRow, tags: tuple[str, ...] | None) -> bool:
    old = existing.fields
    if any(old.get(fid, "") != value for fid, value in row.values.items()):
        return False
    return tags is None or notes_store.format_tags(tags) == existing.tags


def _tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    """``notes.parse_tags`` for tags a reader has already split (no spaces inside); the common
    case, no tag given twice, costs one set instead of a dict and a split per tag."""
    if len({t.casefold() for t in tags}) == len(tags):
        return tags
    return notes_store.parse_tags(tags)


def _merged_tags(existing: Existing | None, row: NoteRow) -> tuple[str, ...] | None:
    """The tags an update leaves on the note, or ``None`` for "leave them"."""
    if row.tags_given:
        return _tags(row.tags)
    if not row.tags:
        return None
    have = tuple(existing.tags.split()) if existing else ()
    return notes_store.parse_tags([*have, *row.tags])


def _plan(row: NoteRow, writer: BulkWriter) -> _Plan:
    """The row checked as ``notes.add`` checks a note: an error plan, or one to add."""
    notetype = row.notetype
    get = row.values.get
    values = [get(f.id, "") for f in notetype.fields]
    if max(map(len, values)) > MAX_FIELD_CHARS:
        f, value = next(
            (f, v) for f, v in zip(notetype.fields, values, strict=True) if len(v) > MAX_FIELD_CHARS
        )
        reason = f"field {f.name} has {len(value):,} characters (at most {MAX_FIELD_CHARS:,})"
        return _Plan(row, "error", message=f"{row.where}: {reason}; skipped")
    first = values[0]
    key = strip_html(first)
    if not key and "<img" not in first:
        reason = f"the first field ({notetype.fields[0].name}) is empty"
        return _Plan(row, "error", message=f"{row.where}: {reason}; skipped")
    return _Plan(row, "add", values=values, key=key)


def _no_cards(row: NoteRow) -> str:
    """The error for a row whose note would have no card (checked only when it is written:
    a row matching an unchanged note is known to have them)."""
    reason = (
        "a Cloze note needs a deletion such as {{c1::answer}}"
        if row.notetype.is_cloze
        else "no card would have a front (the fields its templates show are empty)"
    )
    return f"{row.where}: {reason}; skipped"


def import_rows(
    col,
    rows: Sequence[NoteRow],
    summary: ImportSummary,
    *,
    policy: Policy,
    default_deck: str,
    progress: Progress = no_progress,
) -> list[Outcome]:
    """Import ``rows`` inside the caller's transaction, counting into ``summary``.

    Rows that cannot become notes (empty first field, no card) are listed in
    ``summary.errors`` and skipped; the rest are imported. Returns one outcome per row.
    """
    total = len(rows)
    writer = BulkWriter(col)
    # 1. decks, created when missing (counted), resolved once per name
    deck_ids: dict[str, str] = {}
    before = {d.name.casefold() for d in decks_store.all_decks(col)}
    for name in dict.fromkeys((r.deck or default_deck) for r in rows):
        key = name.casefold()
        if key not in deck_ids:
            deck_ids[key] = decks_store.ensure(col, name).id
    summary.decks += sum(1 for d in decks_store.all_decks(col) if d.name.casefold() not in before)
    # 2. matching, before anything is written
    guids = [r.guid for r in rows if r.guid]
    known = by_guid(col, guids) if guids else {}
    by_type: dict[str, dict[str, list[Existing]]] = {}
    used: set[str] = set()
    plans: list[_Plan] = []
    unmatched: list[_Plan] = []
    seen: set[str] = set()
    for row in rows:
        if row.guid:
            if row.guid in seen:
                row.guid = None  # a guid given twice: the second row is a note of its own
            else:
                seen.add(row.guid)
        plan = _plan(row, writer)
        plans.append(plan)
        if plan.action == "error":
            continue
        if policy.on_duplicate == "add":
            if row.guid and row.guid in known:
                row.guid = None  # keep both: the copy gets a guid of its own
            continue
        hit = known.get(row.guid) if row.guid else None
        if hit is not None:
            if hit.notetype_id != row.notetype.id:
                plan.action = "error"
                plan.message = (
                    f"{row.where}: guid {row.guid!r} belongs to a note of another note type;"
                    " skipped"
                )
                continue
            plan.existing = hit
            used.add(hit.id)
            continue
        unmatched.append(plan)
    # first-field candidates, one query per note type, only for rows no guid matched
    scope: dict[str, set[str]] = {}
    if unmatched:
        for plan in unmatched:
            nt = plan.row.notetype
            if nt.id not in by_type:
                by_type[nt.id] = by_first_field(col, nt)
        if policy.scope_deck:
            ids = [e.id for groups in by_type.values() for g in groups.values() for e in g]
            scope = decks_of(col, ids)
    for plan in unmatched:
        row = plan.row
        group = by_type[row.notetype.id].get(plan.key.casefold())
        if not group:
            continue
        candidates = [e for e in group if e.id not in used]
        if policy.scope_deck:
            deck_id = deck_ids[(row.deck or default_deck).casefold()]
            candidates = [e for e in candidates if deck_id in scope.get(e.id, ())]
        if not candidates:
            continue
        tags = _merged_tags(None, row) if row.tags_given else None
        plan.tags = tags
        tag_text = None if tags is None else notes_store.format_tags(tags)
        # fast path: the stored fields text equals this row's, byte for byte (notes this
        # importer made); otherwise compare parsed values, first field exactly
        text = (
            fields_json(row.notetype, row.values) if len(row.values) == len(plan.values) else None
        )
        same = next(
            (e for e in candidates if e.fields_json == text and tag_text in (None, e.tags)), None
        )
        if same is None:
            first_id = row.notetype.fields[0].id
            candidates = [
                e for e in candidates if strip_html(e.fields.get(first_id, "")) == plan.key
            ]
            if not candidates:
                continue
            same = next((e for e in candidates if _same(e, row, tags)), None)
        plan.existing = same or candidates[0]
        plan.same = same is not None if tags is not None or not row.tags else None
        used.add(plan.existing.id)
    # 3. writes (the clocks of notes that may change are read in batches first)
    load_clocks(col, [p.existing for p in plans if p.existing is not None and not p.same])
    outcomes: list[Outcome] = []
    for done, plan in enumerate(plans, start=1):
        row = plan.row
        if plan.action == "error":
            summary.errors.append(plan.message)
            outcomes.append(Outcome("error", row.guid))
        elif plan.existing is None and not (keys := writer.card_keys(row.notetype, plan.values)):
            summary.errors.append(_no_cards(row))
            outcomes.append(Outcome("error", row.guid))
        elif plan.existing is None:
            deck_id = deck_ids[(row.deck or default_deck).casefold()]
            guid = row.guid or writer.new_guid()
            note_id, _cards = writer.add(
                row.notetype,
                deck_id,
                plan.values,
                _tags(row.tags),
                guid=guid,
                keys=keys,
                first_plain=plan.key,
            )
            summary.added += 1
            outcomes.append(Outcome("added", guid, note_id))
        else:
            existing = plan.existing
            tags = plan.tags if row.tags_given and plan.same is not None else None
            if tags is None:
                tags = _merged_tags(existing, row)
            if plan.same if plan.same is not None else _same(existing, row, tags):
                summary.skipped += 1
                outcomes.append(Outcome("unchanged", existing.guid, existing.id))
            elif policy.on_duplicate == "skip":
                summary.skipped += 1
                outcomes.append(Outcome("skipped", existing.guid, existing.id))
            elif not writer.card_keys(
                row.notetype,
                [row.values.get(f.id, existing.fields.get(f.id, "")) for f in row.notetype.fields],
            ):
                summary.errors.append(_no_cards(row))
                outcomes.append(Outcome("error", existing.guid, existing.id))
            else:
                writer.update(existing, row.notetype, row.values, tags)
                summary.updated += 1
                outcomes.append(Outcome("updated", existing.guid, existing.id))
        if done % 1000 == 0:
            progress(done, total)
    writer.close()
    summary.cards += writer.cards_added
    progress(total, total)
    return outcomes

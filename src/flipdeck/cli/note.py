"""Provides `flipdeck note …`: list, show, edit, tag and delete notes."""

from __future__ import annotations

from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import collection, confirm, iso, require_some, select_notes
from flipdeck.cli.output import JsonOption, YesOption
from flipdeck.core.errors import InvalidInput

note_app = typer.Typer(help="List, show, edit, tag and delete notes.", no_args_is_help=True)

Query = Annotated[str, typer.Argument(help="A note or card id, or a search query.")]


def note_json(col, note) -> dict:
    """The documented JSON shape of a note."""
    from flipdeck.store import notes, notetypes

    notetype = notetypes.load(col, note.notetype_id)
    return {
        "id": note.id,
        "guid": note.guid,
        "notetype": notetype.name,
        "fields": notetype.values_by_name(note.fields),
        "tags": list(note.tags),
        "created": iso(note.created),
        "card_ids": notes.card_ids(col, note.id),
    }


def apply_field_options(col, note, assignments: list[str]) -> None:
    """Apply ``NAME=VALUE`` options to a note in one transaction."""
    from flipdeck.store import notes

    values = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"expected NAME=VALUE, got {item!r}")
        values[name.strip()] = value
    with col.transaction():
        notes.edit(col, note, values)


@note_app.command("list")
def list_notes(
    query: Annotated[str, typer.Argument(help="Search query.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Notes matching a search query."""
    from flipdeck.core.html import strip_html
    from flipdeck.store import notes, notetypes, search

    with collection() as col:
        found = [notes.load(col, nid) for nid in search.find_notes(col, query, now=col.now())]
        if as_json:
            output.print_json([note_json(col, n) for n in found])
            return
        rows = []
        for n in found:
            nt = notetypes.load(col, n.notetype_id)
            first = strip_html(n.fields.get(nt.sort_field_id or "", ""))
            rows.append([n.id, nt.name, " ".join(first.split())[:60], " ".join(n.tags)])
        output.table(["Note", "Type", "Sort field", "Tags"], rows)


@note_app.command("show")
def show(note: Query, as_json: JsonOption = False) -> None:
    """One note's fields, tags and cards."""
    from flipdeck.store import notes

    with collection() as col:
        ids = require_some(select_notes(col, note), "notes", note)
        data = note_json(col, notes.load(col, ids[0]))
    if as_json:
        output.print_json(data)
        return
    rows = [[name, value] for name, value in data["fields"].items()]
    rows += [
        ["Tags", " ".join(data["tags"])],
        ["Type", data["notetype"]],
        ["Id", data["id"]],
        ["Cards", " ".join(data["card_ids"])],
    ]
    output.table(["Field", "Value"], rows)


@note_app.command("edit")
def edit(
    note: Query,
    field: Annotated[
        list[str] | None, typer.Option("--field", "-f", help="NAME=VALUE; repeatable.")
    ] = None,
) -> None:
    """Edit a note in $EDITOR, or set fields with --field NAME=VALUE."""
    from flipdeck.cli.editor import edit_note
    from flipdeck.store import notes

    with collection() as col:
        ids = require_some(select_notes(col, note), "notes", note)
        if len(ids) > 1:
            raise InvalidInput(f"{len(ids)} notes match; edit one at a time (give its id)")
        current = notes.load(col, ids[0])
        if field:
            apply_field_options(col, current, field)
            output.info("Saved.")
        else:
            output.info("Saved." if edit_note(col, current) else "No change.")


def _retag(query: str, tags: list[str], add: bool, as_json: bool) -> None:
    from flipdeck.store import notes

    with collection() as col:
        ids = require_some(select_notes(col, query), "notes", query)
        with col.transaction():
            for nid in ids:
                note = notes.load(col, nid)
                (notes.add_tags if add else notes.remove_tags)(col, note, tags)
    if as_json:
        output.print_json({"matched": len(ids)})
    else:
        output.info(f"{'Tagged' if add else 'Untagged'} {len(ids)} note(s).")


@note_app.command("tag")
def tag(
    query: Query,
    tags: Annotated[list[str], typer.Argument(help="Tags to add.")],
    as_json: JsonOption = False,
) -> None:
    """Add tags to notes."""
    _retag(query, tags, True, as_json)


@note_app.command("untag")
def untag(
    query: Query,
    tags: Annotated[list[str], typer.Argument(help="Tags to remove.")],
    as_json: JsonOption = False,
) -> None:
    """Remove tags from notes."""
    _retag(query, tags, False, as_json)


@note_app.command("delete")
def delete(query: Query, yes: YesOption = False, as_json: JsonOption = False) -> None:
    """Delete notes and their cards (review history is kept)."""
    from flipdeck.store import notes

    with collection() as col:
        ids = require_some(select_notes(col, query), "notes", query)
        if len(ids) > 1:
            confirm(f"Delete {len(ids)} notes and their cards?", yes)
        with col.transaction():
            count = notes.delete(col, ids)
    if as_json:
        output.print_json({"deleted": count})
    else:
        output.info(f"Deleted {count} note(s).")

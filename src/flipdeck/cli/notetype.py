"""Provides `flipdeck notetype …`: list, show, create and change note types.

Every change here is an ordinary synced edit: none of them ever forces a full sync.
"""

from __future__ import annotations

from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import collection
from flipdeck.cli.output import JsonOption

notetype_app = typer.Typer(
    help="List, show, create and change note types (fields and card templates).",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="Note type name.")]


def notetype_json(col, nt) -> dict:
    """The documented JSON shape of a note type."""
    notes = col.conn.execute(
        "SELECT count(*) FROM notes WHERE notetype_id = ? AND deleted = 0", (nt.id,)
    ).fetchone()[0]
    return {
        "id": nt.id,
        "name": nt.name,
        "kind": nt.kind,
        "fields": [{"id": f.id, "name": f.name} for f in nt.fields],
        "templates": [
            {"id": t.id, "name": t.name, "front": t.front, "back": t.back} for t in nt.templates
        ],
        "notes": notes,
    }


def _done(col, nt, as_json: bool, message: str) -> None:
    if as_json:
        output.print_json(notetype_json(col, nt))
    else:
        output.info(message)


@notetype_app.command("list")
def list_notetypes(as_json: JsonOption = False) -> None:
    """Every note type with its fields and note count."""
    from flipdeck.store import notetypes

    with collection() as col:
        data = [notetype_json(col, nt) for nt in notetypes.all_notetypes(col)]
    if as_json:
        output.print_json(data)
        return
    output.table(
        ["Note type", "Kind", "Fields", "Templates", "Notes"],
        (
            [
                d["name"],
                d["kind"],
                ", ".join(f["name"] for f in d["fields"]),
                len(d["templates"]),
                d["notes"],
            ]
            for d in data
        ),
    )


@notetype_app.command("show")
def show(name: Name, as_json: JsonOption = False) -> None:
    """A note type's fields and templates."""
    from flipdeck.store import notetypes

    with collection() as col:
        data = notetype_json(col, notetypes.find(col, name))
    if as_json:
        output.print_json(data)
        return
    out = output.console()
    out.print(f"{data['name']} ({data['kind']}, {data['notes']} notes)", markup=False)
    out.print("Fields: " + ", ".join(f["name"] for f in data["fields"]), markup=False)
    for t in data["templates"]:
        out.rule(t["name"])
        out.print("Front:", t["front"], sep="\n", markup=False)
        out.print("Back:", t["back"], sep="\n", markup=False)


@notetype_app.command("create")
def create(
    name: Name,
    fields: Annotated[
        list[str] | None, typer.Option("--field", "-f", help="A field name; repeat in order.")
    ] = None,
    cloze: Annotated[bool, typer.Option("--cloze", help="Make a cloze note type.")] = False,
    copy: Annotated[str | None, typer.Option("--copy", help="Copy this note type.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a note type from field names (with a default template), or as a copy."""
    from flipdeck.core.errors import InvalidInput
    from flipdeck.core.notetypes import CLOZE, STANDARD
    from flipdeck.store import notetypes

    with collection() as col, col.transaction():
        source = notetypes.find(col, copy) if copy else None
        if source is None and not fields:
            raise InvalidInput("give --field NAME for each field, or --copy NOTETYPE")
        nt = notetypes.create(
            col, name, list(fields or []), kind=CLOZE if cloze else STANDARD, copy_of=source
        )
        _done(col, nt, as_json, f"Created note type {nt.name}.")


@notetype_app.command("rename")
def rename(
    name: Name,
    new_name: Annotated[str, typer.Argument(help="New name.")],
    as_json: JsonOption = False,
) -> None:
    """Rename a note type."""
    from flipdeck.store import notetypes

    with collection() as col, col.transaction():
        nt = notetypes.rename(col, notetypes.find(col, name), new_name)
        _done(col, nt, as_json, f"Renamed to {nt.name}.")


@notetype_app.command("delete")
def delete(name: Name) -> None:
    """Delete a note type that no note uses."""
    from flipdeck.store import notetypes

    with collection() as col, col.transaction():
        notetypes.delete(col, notetypes.find(col, name))
    output.info(f"Deleted note type {name}.")


@notetype_app.command("add-field")
def add_field(
    name: Name,
    field: Annotated[str, typer.Argument(help="New field name.")],
    position: Annotated[int | None, typer.Option(help="1-based position (default: last).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a field; existing notes get it empty."""
    from flipdeck.store import notetypes

    with collection() as col, col.transaction():
        nt = notetypes.add_field(col, notetypes.find(col, name), field, position)
        _done(col, nt, as_json, f"Added field {field}.")


@notetype_app.command("rename-field")
def rename_field(
    name: Name,
    old: Annotated[str, typer.Argument(help="Current field name.")],
    new: Annotated[str, typer.Argument(help="New field name.")],
    as_json: JsonOption = False,
) -> None:
    """Rename a field; templates that use it are updated."""
    from flipdeck.store import notetypes

    with collection() as col, col.transaction():
        nt = notetypes.rename_field(col, notetypes.find(col, name), old, new)
        _done(col, nt, as_json, f"Renamed field {old} to {new}.")


@notetype_app.command("remove-field")
def remove_field(
    name: Name,
    field: Annotated[str, typer.Argument(help="Field to remove.")],
    as_json: JsonOption = False,
) -> None:
    """Remove a field (its values disappear from every note of this type)."""
    from flipdeck.store import notetypes

    with collection() as col, col.transaction():
        nt = notetypes.remove_field(col, notetypes.find(col, name), field)
        _done(col, nt, as_json, f"Removed field {field}.")


@notetype_app.command("reorder-fields")
def reorder_fields(
    name: Name,
    fields: Annotated[list[str], typer.Argument(help="Every field, in the new order.")],
    as_json: JsonOption = False,
) -> None:
    """Put the fields in a new order."""
    from flipdeck.store import notetypes

    with collection() as col, col.transaction():
        nt = notetypes.reorder_fields(col, notetypes.find(col, name), fields)
        _done(col, nt, as_json, "Fields: " + ", ".join(f.name for f in nt.fields))


@notetype_app.command("add-template")
def add_template(
    name: Name,
    template: Annotated[str, typer.Argument(help="New template name.")],
    front: Annotated[str, typer.Option(help="Front template, e.g. '{{Back}}'.")],
    back: Annotated[str, typer.Option(help="Back template.")] = (
        "{{FrontSide}}\n\n<hr id=answer>\n\n"
    ),
    as_json: JsonOption = False,
) -> None:
    """Add a card template; notes get the cards it generates."""
    from flipdeck.store import notetypes

    with collection() as col, col.transaction():
        nt = notetypes.add_template(col, notetypes.find(col, name), template, front, back)
        _done(col, nt, as_json, f"Added template {template}.")


@notetype_app.command("edit-template")
def edit_template(
    name: Name,
    template: Annotated[str, typer.Argument(help="Template to change.")],
    front: Annotated[str | None, typer.Option(help="New front template.")] = None,
    back: Annotated[str | None, typer.Option(help="New back template.")] = None,
    rename: Annotated[str | None, typer.Option("--rename", help="New template name.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a template's front, back or name."""
    from flipdeck.store import notetypes

    with collection() as col, col.transaction():
        nt = notetypes.edit_template(
            col, notetypes.find(col, name), template, front=front, back=back, new_name=rename
        )
        _done(col, nt, as_json, f"Updated template {rename or template}.")


@notetype_app.command("remove-template")
def remove_template(
    name: Name,
    template: Annotated[str, typer.Argument(help="Template to remove.")],
    as_json: JsonOption = False,
) -> None:
    """Remove a template and delete its cards."""
    from flipdeck.store import notetypes

    with collection() as col, col.transaction():
        nt, count = notetypes.remove_template(col, notetypes.find(col, name), template)
        _done(col, nt, as_json, f"Removed template {template} and {count} card(s).")

"""Provides note types in the store: loading them, and every change Anki lets users make.

Fields and templates are rows of their own (``nt_fields``, ``nt_templates``) with stable ids and
a float ``ord``, so renaming, adding, removing and reordering them are ordinary field-level
changes that sync merges; no change here ever needs a "full sync".
"""

from __future__ import annotations

from flipdeck.core import template as templating
from flipdeck.core.errors import Conflict, InvalidInput, NotFound
from flipdeck.core.notetypes import CLOZE, STANDARD, Field, NoteType, Template


def _cache(col) -> dict[str, NoteType]:
    cache = getattr(col, "_notetypes", None)
    if cache is None:
        cache = col._notetypes = {}
    return cache


def load(col, notetype_id: str) -> NoteType:
    """The note type with this id (cached until the next change), deleted ones included, so
    notes of a deleted type still render."""
    cache = _cache(col)
    cached = cache.get(notetype_id)
    if cached is not None:
        return cached
    row = col.conn.execute(
        "SELECT id, name, kind, css, sort_field FROM notetypes WHERE id = ?", (notetype_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no note type with id {notetype_id}")
    fields = tuple(
        Field(*r)
        for r in col.conn.execute(
            "SELECT id, name, ord FROM nt_fields WHERE notetype_id = ? AND deleted = 0"
            " ORDER BY ord, id",
            (notetype_id,),
        )
    )
    templates = tuple(
        Template(*r)
        for r in col.conn.execute(
            "SELECT id, name, ord, front, back FROM nt_templates"
            " WHERE notetype_id = ? AND deleted = 0 ORDER BY ord, id",
            (notetype_id,),
        )
    )
    notetype = NoteType(row[0], row[1], row[2], fields, templates, row[3] or "", row[4])
    cache[notetype_id] = notetype
    return notetype


def all_notetypes(col) -> list[NoteType]:
    """Every live note type, by name."""
    ids = [r[0] for r in col.conn.execute("SELECT id FROM notetypes WHERE deleted = 0")]
    return sorted((load(col, i) for i in ids), key=lambda nt: nt.name.casefold())


def find(col, name: str) -> NoteType:
    """The live note type called ``name`` (case-insensitive)."""
    folded = name.casefold()
    every = all_notetypes(col)
    for notetype in every:
        if notetype.name.casefold() == folded:
            return notetype
    raise NotFound(
        f"no note type named {name!r}",
        hint=f"Note types: {', '.join(nt.name for nt in every)}.",
    )


def _changed(col) -> None:
    _cache(col).clear()


def _fields_changed(col, notetype_id: str) -> NoteType:
    """After fields were added, removed or reordered: the notes' search text follows."""
    from flipdeck.store import notes

    _changed(col)
    notes.reindex(col, notetype_id)
    return load(col, notetype_id)


def install(col, notetype: NoteType, *, stamp: str | None = None) -> NoteType:
    """Write a whole note type (new, or a stock one being installed)."""
    col.write(
        "notetype",
        notetype.id,
        {
            "name": notetype.name,
            "kind": notetype.kind,
            "css": notetype.css,
            "sort_field": notetype.sort_field,
            "deleted": 0,
        },
        stamp=stamp,
    )
    for f in notetype.fields:
        col.write(
            "ntfield",
            f.id,
            {"notetype_id": notetype.id, "name": f.name, "ord": f.ord, "deleted": 0},
            stamp=stamp,
        )
    for t in notetype.templates:
        col.write(
            "nttemplate",
            t.id,
            {
                "notetype_id": notetype.id,
                "name": t.name,
                "ord": t.ord,
                "front": t.front,
                "back": t.back,
                "deleted": 0,
            },
            stamp=stamp,
        )
    _changed(col)
    return load(col, notetype.id)


def _check_name(col, name: str, what: str, taken: list[str]) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput(f"a {what} name cannot be empty")
    if any(c in name for c in '{}:"') and what == "field":
        raise InvalidInput(f'field names cannot contain {{, }}, : or ": {name!r}')
    if name.casefold() in (t.casefold() for t in taken):
        raise Conflict(f"there is already a {what} named {name!r}")
    return name


def create(
    col, name: str, field_names: list[str], *, kind: str = STANDARD, copy_of: NoteType | None = None
) -> NoteType:
    """A new note type: a copy of ``copy_of``, or ``field_names`` with one default template."""
    name = _check_name(col, name, "note type", [nt.name for nt in all_notetypes(col)])
    if copy_of is not None:
        field_names = [f.name for f in copy_of.fields]
        kind = copy_of.kind
    if not field_names:
        raise InvalidInput("a note type needs at least one field")
    seen: list[str] = []
    for field_name in field_names:
        seen.append(_check_name(col, field_name, "field", seen))
    if copy_of is not None:
        specs = [(t.name, t.front, t.back) for t in copy_of.templates]
    elif kind == CLOZE:
        extra = "<br>\n{{" + seen[1] + "}}" if len(seen) > 1 else ""
        specs = [("Cloze", "{{cloze:" + seen[0] + "}}", "{{cloze:" + seen[0] + "}}" + extra)]
    else:
        back = "{{FrontSide}}\n\n<hr id=answer>\n\n" + (
            "{{" + seen[1] + "}}" if len(seen) > 1 else ""
        )
        specs = [("Card 1", "{{" + seen[0] + "}}", back)]
    notetype = NoteType(
        id=col.new_id(),
        name=name,
        kind=kind,
        fields=tuple(Field(col.new_id(), n, float(i)) for i, n in enumerate(seen)),
        templates=tuple(
            Template(col.new_id(), t, float(i), front, back)
            for i, (t, front, back) in enumerate(specs)
        ),
        css=copy_of.css if copy_of else "",
    )
    return install(col, notetype)


def rename(col, notetype: NoteType, new_name: str) -> NoteType:
    """Rename a note type."""
    others = [nt.name for nt in all_notetypes(col) if nt.id != notetype.id]
    col.write("notetype", notetype.id, {"name": _check_name(col, new_name, "note type", others)})
    _changed(col)
    return load(col, notetype.id)


def add_field(col, notetype: NoteType, name: str, position: int | None = None) -> NoteType:
    """Add a field (at the end, or before the field now at 1-based ``position``)."""
    name = _check_name(col, name, "field", [f.name for f in notetype.fields])
    ords = [f.ord for f in notetype.fields]
    if position is None or position > len(ords):
        ord_ = (ords[-1] + 1.0) if ords else 0.0
    else:
        index = max(position, 1) - 1
        before = ords[index - 1] if index > 0 else ords[0] - 2.0
        ord_ = (before + ords[index]) / 2
    col.write(
        "ntfield",
        col.new_id(),
        {"notetype_id": notetype.id, "name": name, "ord": ord_, "deleted": 0},
    )
    return _fields_changed(col, notetype.id)


def rename_field(col, notetype: NoteType, old: str, new: str) -> NoteType:
    """Rename a field and every template reference to it (as Anki does)."""
    field = notetype.field(old)
    others = [f.name for f in notetype.fields if f.id != field.id]
    new = _check_name(col, new, "field", others)
    col.write("ntfield", field.id, {"name": new})
    for t in notetype.templates:
        front = templating.rename_field_references(t.front, field.name, new)
        back = templating.rename_field_references(t.back, field.name, new)
        changes = {k: v for k, v in (("front", front), ("back", back)) if v != getattr(t, k)}
        if changes:
            col.write("nttemplate", t.id, changes)
    _changed(col)
    return load(col, notetype.id)


def remove_field(col, notetype: NoteType, name: str) -> NoteType:
    """Remove a field; notes keep the value hidden, so a concurrent edit never fails to merge."""
    field = notetype.field(name)
    if len(notetype.fields) == 1:
        raise InvalidInput("a note type must keep at least one field")
    col.write("ntfield", field.id, {"deleted": 1})
    return _fields_changed(col, notetype.id)


def reorder_fields(col, notetype: NoteType, names: list[str]) -> NoteType:
    """Put the fields in the order ``names`` gives (every field named exactly once)."""
    wanted = [notetype.field(n) for n in names]
    if len({f.id for f in wanted}) != len(wanted) or len(wanted) != len(notetype.fields):
        raise InvalidInput(
            "name every field exactly once",
            hint=f"Fields now: {', '.join(f.name for f in notetype.fields)}.",
        )
    for i, f in enumerate(wanted):
        if f.ord != float(i):
            col.write("ntfield", f.id, {"ord": float(i)})
    return _fields_changed(col, notetype.id)


def add_template(col, notetype: NoteType, name: str, front: str, back: str) -> NoteType:
    """Add a card template; existing notes get the cards it generates."""
    if notetype.is_cloze:
        raise InvalidInput("a cloze note type has exactly one template; edit it instead")
    name = _check_name(col, name, "template", [t.name for t in notetype.templates])
    _validate_template(notetype, front, back)
    ord_ = (notetype.templates[-1].ord + 1.0) if notetype.templates else 0.0
    col.write(
        "nttemplate",
        col.new_id(),
        {
            "notetype_id": notetype.id,
            "name": name,
            "ord": ord_,
            "front": front,
            "back": back,
            "deleted": 0,
        },
    )
    return _regenerate(col, notetype.id)


def edit_template(
    col,
    notetype: NoteType,
    name: str,
    *,
    front: str | None = None,
    back: str | None = None,
    new_name: str | None = None,
) -> NoteType:
    """Change a template's front, back or name; notes gain any cards the new front implies."""
    t = notetype.template(name)
    changes: dict[str, str] = {}
    if new_name is not None and new_name != t.name:
        others = [x.name for x in notetype.templates if x.id != t.id]
        changes["name"] = _check_name(col, new_name, "template", others)
    if front is not None and front != t.front:
        changes["front"] = front
    if back is not None and back != t.back:
        changes["back"] = back
    _validate_template(notetype, changes.get("front", t.front), changes.get("back", t.back))
    if changes:
        col.write("nttemplate", t.id, changes)
    return _regenerate(col, notetype.id)


def remove_template(col, notetype: NoteType, name: str) -> tuple[NoteType, int]:
    """Remove a template and delete its cards; returns the note type and cards deleted."""
    from flipdeck.store import cards

    t = notetype.template(name)
    if len(notetype.templates) == 1:
        raise InvalidInput("a note type must keep at least one template")
    ids = [
        r[0]
        for r in col.conn.execute(
            "SELECT id FROM cards WHERE template = ? AND deleted = 0", (t.id,)
        )
    ]
    cards.delete(col, ids)
    col.write("nttemplate", t.id, {"deleted": 1})
    _changed(col)
    return load(col, notetype.id), len(ids)


def delete(col, notetype: NoteType) -> None:
    """Delete a note type that no live note uses."""
    used = col.conn.execute(
        "SELECT count(*) FROM notes WHERE notetype_id = ? AND deleted = 0", (notetype.id,)
    ).fetchone()[0]
    if used:
        raise Conflict(
            f"{used} note(s) use {notetype.name!r}",
            hint="Delete those notes first (flipdeck note delete 'note:NAME').",
        )
    col.write("notetype", notetype.id, {"deleted": 1})
    _changed(col)


def _validate_template(notetype: NoteType, front: str, back: str) -> None:
    """Parse both sides (raising on unbalanced sections) and refuse unknown field names."""
    names = {f.name for f in notetype.fields}
    special = {"FrontSide", "Tags", "Deck", "Subdeck", "Type", "Card"}
    for side in (front, back):
        unknown = templating.referenced_fields(side) - names - special
        if unknown:
            raise InvalidInput(
                f"the template refers to unknown field(s): {', '.join(sorted(unknown))}",
                hint=f"Fields: {', '.join(sorted(names))}.",
            )


def _regenerate(col, notetype_id: str) -> NoteType:
    from flipdeck.store import notes

    _changed(col)
    notetype = load(col, notetype_id)
    for note_id in [
        r[0]
        for r in col.conn.execute(
            "SELECT id FROM notes WHERE notetype_id = ? AND deleted = 0", (notetype_id,)
        )
    ]:
        notes.generate_cards(col, notes.load(col, note_id))
    return notetype

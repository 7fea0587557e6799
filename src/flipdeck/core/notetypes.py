"""Provides note types: named fields and card templates, each with a stable id.

Stable ids are what let a field be renamed or reordered on one device while notes are edited on
another: notes key their values by field id, never by name or position. The stock note types
have derived ids, so every installation agrees on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from flipdeck.core.errors import NotFound
from flipdeck.core.ids import derived_id

STANDARD, CLOZE = "standard", "cloze"


@dataclass(frozen=True)
class Field:
    """A note field; ``ord`` orders fields (a float, so a reorder touches few rows)."""

    id: str
    name: str
    ord: float


@dataclass(frozen=True)
class Template:
    """A card template: one card per template whose front renders non-empty."""

    id: str
    name: str
    ord: float
    front: str
    back: str


@dataclass(frozen=True)
class NoteType:
    """A note type with its live fields and templates in order."""

    id: str
    name: str
    kind: str
    fields: tuple[Field, ...]
    templates: tuple[Template, ...]
    css: str = ""
    sort_field: str | None = None

    @property
    def is_cloze(self) -> bool:
        """Whether cards come from cloze numbers rather than templates."""
        return self.kind == CLOZE

    def field(self, name: str) -> Field:
        """The field called ``name`` (case-insensitive, as in Anki)."""
        folded = name.casefold()
        for f in self.fields:
            if f.name.casefold() == folded:
                return f
        raise NotFound(
            f"note type {self.name!r} has no field {name!r}",
            hint=f"Its fields are: {', '.join(f.name for f in self.fields)}.",
        )

    def template(self, name: str) -> Template:
        """The template called ``name`` (case-insensitive)."""
        folded = name.casefold()
        for t in self.templates:
            if t.name.casefold() == folded:
                return t
        raise NotFound(
            f"note type {self.name!r} has no template {name!r}",
            hint=f"Its templates are: {', '.join(t.name for t in self.templates)}.",
        )

    def values_by_name(self, values: dict[str, str]) -> dict[str, str]:
        """A note's values (keyed by field id) keyed by field name, in field order."""
        return {f.name: values.get(f.id, "") for f in self.fields}

    @property
    def sort_field_id(self) -> str | None:
        """The field that sorts and identifies notes (the first unless set)."""
        if self.sort_field and any(f.id == self.sort_field for f in self.fields):
            return self.sort_field
        return self.fields[0].id if self.fields else None


_ANSWER = "{{FrontSide}}\n\n<hr id=answer>\n\n"


def _stock(name: str, kind: str, fields: list[str], templates: list[tuple[str, str, str]]):
    nt_id = derived_id("notetype", name)
    return NoteType(
        id=nt_id,
        name=name,
        kind=kind,
        fields=tuple(
            Field(derived_id("field", name, f), f, float(i)) for i, f in enumerate(fields)
        ),
        templates=tuple(
            Template(derived_id("template", name, t), t, float(i), front, back)
            for i, (t, front, back) in enumerate(templates)
        ),
    )


STOCK: tuple[NoteType, ...] = (
    _stock("Basic", STANDARD, ["Front", "Back"], [("Card 1", "{{Front}}", _ANSWER + "{{Back}}")]),
    _stock(
        "Basic (and reversed card)",
        STANDARD,
        ["Front", "Back"],
        [
            ("Card 1", "{{Front}}", _ANSWER + "{{Back}}"),
            ("Card 2", "{{Back}}", _ANSWER + "{{Front}}"),
        ],
    ),
    _stock(
        "Basic (optional reversed card)",
        STANDARD,
        ["Front", "Back", "Add Reverse"],
        [
            ("Card 1", "{{Front}}", _ANSWER + "{{Back}}"),
            ("Card 2", "{{#Add Reverse}}{{Back}}{{/Add Reverse}}", _ANSWER + "{{Front}}"),
        ],
    ),
    _stock(
        "Basic (type in the answer)",
        STANDARD,
        ["Front", "Back"],
        [
            (
                "Card 1",
                "{{Front}}\n\n{{type:Back}}",
                "{{Front}}\n\n<hr id=answer>\n\n{{type:Back}}",
            )
        ],
    ),
    _stock(
        "Cloze",
        CLOZE,
        ["Text", "Back Extra"],
        [("Cloze", "{{cloze:Text}}", "{{cloze:Text}}<br>\n{{Back Extra}}")],
    ),
)
"""The stock note types of a fresh Anki collection, with Anki's exact template text."""

BASIC = STOCK[0]

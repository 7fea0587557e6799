"""Provides card generation: which cards a note has, what each is called and how it renders.

A card is named by a key that survives edits: a template's id for standard note types (so
renaming or reordering templates keeps review history), ``c<N>`` for cloze deletion N.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flipdeck.core.cloze import cloze_numbers
from flipdeck.core.errors import NotFound
from flipdeck.core.notetypes import NoteType, Template
from flipdeck.core.template import (
    CardContext,
    cloze_fields,
    front_is_nonempty,
    render_back,
    render_front,
)

_CLOZE_KEY = re.compile(r"c([1-9][0-9]*)")


def cloze_number(key: str) -> int | None:
    """The deletion number of a cloze card key (``"c3"`` → 3); None for a template id."""
    m = _CLOZE_KEY.fullmatch(key)
    return int(m.group(1)) if m else None


def _cloze_template(notetype: NoteType) -> Template:
    if not notetype.templates:
        raise NotFound(f"note type {notetype.name!r} has no template")
    return notetype.templates[0]


def card_keys(notetype: NoteType, values_by_name: Mapping[str, str]) -> list[str]:
    """The keys of the cards a note with these field values has, in review order."""
    if notetype.is_cloze:
        if not notetype.templates:
            return []
        numbers: set[int] = set()
        for name in cloze_fields(notetype.templates[0].front):
            numbers |= cloze_numbers(values_by_name.get(name, ""))
        return [f"c{n}" for n in sorted(numbers)]
    return [t.id for t in notetype.templates if front_is_nonempty(t.front, values_by_name)]


def _template(notetype: NoteType, key: str) -> Template:
    if notetype.is_cloze:
        if cloze_number(key) is None:
            raise NotFound(f"{key!r} is not a cloze card of note type {notetype.name!r}")
        return _cloze_template(notetype)
    for t in notetype.templates:
        if t.id == key:
            return t
    raise NotFound(f"note type {notetype.name!r} no longer has the template of card {key!r}")


def card_label(notetype: NoteType, key: str) -> str:
    """What the user calls the card: its template's name, or ``Cloze N``."""
    template = _template(notetype, key)
    return f"Cloze {cloze_number(key)}" if notetype.is_cloze else template.name


def render_card(
    notetype: NoteType,
    key: str,
    values_by_name: Mapping[str, str],
    *,
    tags: str = "",
    deck: str = "",
    typed: str | None = None,
) -> tuple[str, str]:
    """The (front, back) HTML of one card; ``typed`` is the user's answer for a type-in card."""
    template = _template(notetype, key)
    ctx = CardContext(
        fields=values_by_name,
        tags=tags,
        deck=deck,
        notetype=notetype.name,
        card=card_label(notetype, key),
        cloze=cloze_number(key) if notetype.is_cloze else None,
        typed=typed,
    )
    front = render_front(template.front, ctx)
    return front, render_back(template.back, ctx, front)

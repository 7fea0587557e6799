"""Changing note types: every change is an ordinary edit and cards follow templates."""

from __future__ import annotations

import pytest

from flipdeck.core.errors import Conflict, InvalidInput
from flipdeck.core.notetypes import CLOZE
from flipdeck.store import notes, notetypes
from tests.store.helpers import add


def make(col, name="Vocab", fields=("Word", "Meaning")):
    with col.transaction():
        return notetypes.create(col, name, list(fields))


def test_create_with_default_template(col):
    nt = make(col)
    assert [f.name for f in nt.fields] == ["Word", "Meaning"]
    assert nt.templates[0].front == "{{Word}}"
    assert "{{Meaning}}" in nt.templates[0].back
    with pytest.raises(Conflict), col.transaction():
        notetypes.create(col, "vocab", ["X"])


def test_rename_field_rewrites_templates_and_keeps_values(col):
    make(col)
    note, _ = add(col, "hola", "hello", notetype="Vocab")
    with col.transaction():
        nt = notetypes.rename_field(col, notetypes.find(col, "Vocab"), "Word", "Term")
    assert nt.templates[0].front == "{{Term}}"
    assert nt.values_by_name(notes.load(col, note.id).fields)["Term"] == "hola"


def test_add_template_generates_cards_for_existing_notes(col):
    make(col)
    note, cards_before = add(col, "hola", "hello", notetype="Vocab")
    with col.transaction():
        notetypes.add_template(
            col,
            notetypes.find(col, "Vocab"),
            "Reverse",
            "{{Meaning}}",
            "{{FrontSide}}<hr id=answer>{{Word}}",
        )
    assert len(notes.card_ids(col, note.id)) == len(cards_before) + 1


def test_template_must_name_existing_fields(col):
    nt = make(col)
    with pytest.raises(InvalidInput, match="unknown field"), col.transaction():
        notetypes.add_template(col, nt, "Bad", "{{Nope}}", "")


def test_reorder_and_remove_fields(col):
    nt = make(col, fields=("A", "B", "C"))
    with col.transaction():
        nt = notetypes.reorder_fields(col, nt, ["C", "A", "B"])
    assert [f.name for f in nt.fields] == ["C", "A", "B"]
    with pytest.raises(InvalidInput), col.transaction():
        notetypes.reorder_fields(col, nt, ["C", "A"])
    with col.transaction():
        nt = notetypes.remove_field(col, nt, "B")
    assert [f.name for f in nt.fields] == ["C", "A"]
    with col.transaction():
        nt = notetypes.add_field(col, nt, "Middle", position=2)
    assert [f.name for f in nt.fields] == ["C", "Middle", "A"]


def test_remove_template_deletes_its_cards(col):
    note, card_ids = add(col, "q", "a", notetype="Basic (and reversed card)")
    with col.transaction():
        _nt, removed = notetypes.remove_template(
            col, notetypes.find(col, "Basic (and reversed card)"), "Card 2"
        )
    assert removed == 1 and notes.card_ids(col, note.id) == card_ids[:1]


def test_note_type_in_use_cannot_be_deleted(col):
    make(col)
    add(col, "x", "y", notetype="Vocab")
    with pytest.raises(Conflict, match="1 note"), col.transaction():
        notetypes.delete(col, notetypes.find(col, "Vocab"))


def test_custom_cloze_type(col):
    with col.transaction():
        nt = notetypes.create(col, "MyCloze", ["Body", "Extra"], kind=CLOZE)
    _note, card_ids = add(col, "{{c1::a}} {{c3::b}}", "", notetype="MyCloze")
    assert len(card_ids) == 2
    assert nt.templates[0].front == "{{cloze:Body}}"

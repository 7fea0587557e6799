"""Notes and their cards: Anki's generation rule, deterministic card ids, edits, tags,
deletion."""

from __future__ import annotations

import json

import pytest

from flipdeck.core.errors import InvalidInput
from flipdeck.store import cards, notes, notetypes
from tests.store.helpers import add


def test_basic_note_has_one_card_in_its_deck(col):
    note, card_ids = add(col, "chien", "dog", deck="French", tags=["animal::mammal", "fr"])
    assert len(card_ids) == 1
    info = cards.info(col, card_ids[0])
    assert info.deck == "French" and info.state.state == 0 and info.tags == note.tags
    assert note.tags == ("animal::mammal", "fr")
    stored = col.conn.execute("SELECT tags, search FROM notes WHERE id = ?", (note.id,)).fetchone()
    assert stored == (" animal::mammal fr ", "chien\x1fdog")


def test_card_ids_are_the_same_on_every_device(col):
    """Two devices generating the cards of one note must agree on their ids."""
    note, card_ids = add(col, "a", "b", notetype="Basic (and reversed card)")
    nt = notetypes.find(col, "Basic (and reversed card)")
    assert card_ids == [notes.card_id(note.id, t.id) for t in nt.templates]


@pytest.mark.parametrize(
    ("notetype", "fields", "count"),
    [
        ("Basic", ["q", "a"], 1),
        ("Basic (and reversed card)", ["q", "a"], 2),
        ("Basic (optional reversed card)", ["q", "a", ""], 1),
        ("Basic (optional reversed card)", ["q", "a", "y"], 2),
        ("Basic (type in the answer)", ["q", "a"], 1),
        ("Cloze", ["{{c1::Paris}} is in {{c2::France}}; {{c1::Paris}}", ""], 2),
    ],
)
def test_card_generation_per_stock_type(col, notetype, fields, count):
    _note, card_ids = add(col, *fields, notetype=notetype)
    assert len(card_ids) == count


def test_empty_first_field_is_refused_and_nothing_written(col):
    before = col.conn.execute("SELECT count(*) FROM changes").fetchone()[0]
    with pytest.raises(InvalidInput, match="first field"):
        add(col, "", "back")
    assert col.conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0
    assert col.conn.execute("SELECT count(*) FROM changes").fetchone()[0] == before


def test_cloze_without_deletion_is_refused(col):
    with pytest.raises(InvalidInput, match="no cards"):
        add(col, "no cloze here", notetype="Cloze")


def test_too_many_values_are_refused(col):
    with pytest.raises(InvalidInput, match="3 values"):
        add(col, "a", "b", "c")


def test_editing_adds_cards_the_content_now_implies(col):
    note, card_ids = add(col, "q", "a", "", notetype="Basic (optional reversed card)")
    with col.transaction():
        made = notes.edit(col, note, {"Add Reverse": "yes"})
    assert len(made) == 1
    assert set(notes.card_ids(col, note.id)) == {*card_ids, *made}
    # emptying it again keeps the card (as Anki does; Empty Cards removes them)
    with col.transaction():
        notes.edit(col, notes.load(col, note.id), {"Add Reverse": ""})
    assert len(notes.card_ids(col, note.id)) == 2


def test_edit_records_only_changed_fields(col):
    note, _ = add(col, "q", "a")
    with col.transaction():
        notes.edit(col, note, {"Front": "q", "Back": "answer"})
    data = json.loads(col.conn.execute("SELECT data FROM changes ORDER BY seq DESC").fetchone()[0])
    back = notetypes.find(col, "Basic").field("Back").id
    assert data == {f"fields.{back}": "answer"}


def test_tags(col):
    note, _ = add(col, "q", "a", tags=["one"])
    with col.transaction():
        notes.add_tags(col, note, ["two", "ONE"])
    assert notes.load(col, note.id).tags == ("one", "two")
    with col.transaction():
        notes.remove_tags(col, notes.load(col, note.id), ["One"])
    assert notes.load(col, note.id).tags == ("two",)


def test_deleting_a_note_deletes_its_cards_keeps_reviews(col):
    from flipdeck.store import reviews

    note, card_ids = add(col, "q", "a", notetype="Basic (and reversed card)")
    with col.transaction():
        reviews.answer(col, card_ids[0], 3)
        notes.delete(col, [note.id])
    assert (
        col.conn.execute(
            "SELECT count(*) FROM cards WHERE note_id = ? AND deleted = 0", (note.id,)
        ).fetchone()[0]
        == 0
    )
    assert col.conn.execute("SELECT queue FROM cards WHERE id = ?", (card_ids[0],)).fetchone() == (
        -2,
    )
    assert col.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 1

"""Two devices converge through the real server."""

from __future__ import annotations

from flipdeck.store import decks, notes, notetypes, reviews


def add(device, *fields, deck="Default"):
    col = device.col
    with col.transaction():
        target = decks.ensure(col, deck)
        return notes.add(col, notetypes.find(col, "Basic"), target.id, list(fields))


def test_a_note_and_its_review_reach_the_other_device(devices):
    a, b = devices(2)
    note, (card,) = add(a, "hola", "hello", deck="Spanish")
    with a.col.transaction():
        reviews.answer(a.col, card, 3)
    first = a.sync()
    assert first.pushed > 0 and first.requests >= 2
    pulled = b.sync()
    assert pulled.pulled > 0 and pulled.reviews_added == 1
    assert decks.lookup(b.col, "Spanish") is not None
    assert notes.load(b.col, note.id).fields == note.fields
    assert reviews.card_row(b.col, card).state == reviews.card_row(a.col, card).state
    idle = b.sync()
    assert idle.requests == 1 and idle.pulled == 0
    assert idle.bytes_sent + idle.bytes_received < 1024

"""Two and three devices against the real server (in-process): the situations where Anki's sync
loses or diverges (``sync-anchors.md`` §2) and the edges of flipdeck's merge rules.

Each scenario works offline on several devices, lets them sync (twice round, which quiesces),
and then checks both the specific promise (G1, G2, G4, G10, G11: nothing dropped, nothing
doubled, no side chosen) and that every collection's canonical dump is identical.
"""

from __future__ import annotations

import json

import pytest

from flipdeck.core.notetypes import BASIC
from flipdeck.store import cards, decks, inbox, notes, notetypes, presets, reviews
from flipdeck.sync.errors import ServerUnavailable
from tests.conftest import NOON
from tests.sync.conftest import assert_identical, converge
from tests.sync.dump import columns as dump_columns
from tests.sync.dump import dump, foreign
from tests.sync.faults import Fault

DAY_MS = 86_400_000


def add(device, *fields, deck="Default", notetype="Basic", tags=()):
    """Add a note on a device in its own transaction; returns (note, card ids)."""
    col = device.col
    with col.transaction():
        target = decks.ensure(col, deck)
        return notes.add(col, notetypes.find(col, notetype), target.id, list(fields), tags)


def answer(device, card_id, rating, at=None):
    with device.col.transaction():
        return reviews.answer(device.col, card_id, rating, at=at)


def review_ids(device, card_id=None):
    sql, params = "SELECT id FROM reviews", ()
    if card_id is not None:
        sql, params = sql + " WHERE card_id = ?", (card_id,)
    return sorted(r[0] for r in device.col.conn.execute(sql, params))


def state(device, card_id):
    return reviews.card_row(device.col, card_id).state


def search(device, note_id):
    return device.col.conn.execute("SELECT search FROM notes WHERE id = ?", (note_id,)).fetchone()[
        0
    ]


# -- reviews: G2 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("apart_ms", [800, 0], ids=["same-second", "same-millisecond"])
def test_the_same_card_reviewed_offline_on_two_devices_keeps_both_reviews(devices, apart_ms):
    """Anki keeps each device's own card state when two answers share a second (50/50 cards
    diverged): here both reviews are kept and the card is the fold of both, everywhere."""
    a, b = devices(2)
    _note, (card,) = add(a, "hola", "hello")
    converge([a, b])
    first = answer(a, card, 3, at=NOON + 100)
    second = answer(b, card, 1, at=NOON + 100 + apart_ms)
    converge([a, b])
    assert review_ids(a, card) == review_ids(b, card) == sorted([first.event_id, second.event_id])
    assert state(a, card) == state(b, card)
    assert state(a, card).reps == 2
    assert_identical([a, b])


def test_reviews_of_different_cards_in_the_same_millisecond_are_all_kept(devices):
    """Anki's review ids are answer times, so two devices answering different cards in the same
    millisecond silently drop each other's reviews; flipdeck's ids are unique per event."""
    a, b, c = devices(3)
    made = [add(a, f"word {i}", f"meaning {i}")[1][0] for i in range(6)]
    converge([a, b, c])
    events = []
    for i, card in enumerate(made):
        device = (a, b, c)[i % 3]
        events.append(answer(device, card, 3, at=NOON + 5).event_id)
    converge([c, a, b])
    for device in (a, b, c):
        assert review_ids(device) == sorted(events)
    assert_identical([a, b, c])


def test_a_field_added_on_one_device_loses_no_offline_review_on_another(devices):
    """Adding a field forces Anki into a one-way sync that loses every offline review of the
    downloading device; here the field arrives as an ordinary change and the reviews stay."""
    a, b = devices(2)
    made = [add(a, f"front {i}", f"back {i}")[1][0] for i in range(5)]
    converge([a, b])
    with a.col.transaction():
        notetypes.add_field(a.col, notetypes.find(a.col, "Basic"), "Example")
    offline = [answer(b, card, 3, at=NOON + i).event_id for i, card in enumerate(made)]
    converge([a, b])
    for device in (a, b):
        assert [f.name for f in notetypes.find(device.col, "Basic").fields] == [
            "Front",
            "Back",
            "Example",
        ]
        assert review_ids(device) == sorted(offline)
    assert_identical([a, b])


def test_a_review_of_a_card_deleted_elsewhere_is_kept_and_the_card_agrees(devices):
    """A deleted card's cached scheduling state must not depend on whether a review arrived
    before or after the deletion (it did, when deleted cards kept whatever they last held)."""
    a, b = devices(2)
    _note, (card,) = add(a, "uno", "one")
    converge([a, b])
    event = answer(a, card, 3).event_id
    with b.col.transaction():
        cards.delete(b.col, [card])
    converge([a, b])
    assert review_ids(a) == review_ids(b) == [event]
    assert_identical([a, b])


def test_undo_on_one_device_removes_the_review_everywhere(devices):
    """An undone review leaves a grave, which wins wherever the review went."""
    a, b = devices(2)
    _note, (card,) = add(a, "dos", "two")
    done = answer(a, card, 4)
    converge([a, b])
    assert review_ids(b) == [done.event_id]
    with a.col.transaction():
        reviews.undo(a.col, done)
    converge([a, b])
    assert review_ids(a) == review_ids(b) == []
    assert state(b, card).reps == 0
    assert_identical([a, b])


# -- edits against edits, deletes and structure --------------------------------------------------


def test_edit_against_delete_converges_and_keeps_the_edit(devices):
    """Deletion is a field like any other: the note stays deleted on both devices and the
    concurrent edit is kept in it (so restoring the note restores the edit)."""
    a, b = devices(2)
    note, (card,) = add(a, "tres", "three")
    converge([a, b])
    with a.col.transaction():
        notes.edit(a.col, notes.load(a.col, note.id), {"Back": "THREE"})
    with b.col.transaction():
        notes.delete(b.col, [note.id])
    converge([a, b])
    for device in (a, b):
        row = device.col.conn.execute(
            "SELECT deleted, fields FROM notes WHERE id = ?", (note.id,)
        ).fetchone()
        assert row[0] == 1
        assert "THREE" in json.loads(row[1]).values()
        assert device.col.conn.execute(
            "SELECT deleted FROM cards WHERE id = ?", (card,)
        ).fetchone() == (1,)
    assert_identical([a, b])


def test_concurrent_edits_of_different_fields_both_survive(devices):
    """Fields merge per key: Front edited on one device and Back on the other keeps both."""
    a, b = devices(2)
    note, _cards = add(a, "cuatro", "four")
    converge([a, b])
    with a.col.transaction():
        notes.edit(a.col, notes.load(a.col, note.id), {"Front": "CUATRO"})
    with b.col.transaction():
        notes.edit(b.col, notes.load(b.col, note.id), {"Back": "FOUR"})
    converge([a, b])
    for device in (a, b):
        loaded = notes.load(device.col, note.id)
        assert BASIC.values_by_name(loaded.fields) == {"Front": "CUATRO", "Back": "FOUR"}
    assert_identical([a, b])


def test_deck_rename_against_moving_a_card_into_it(devices):
    """The rename and the move touch different rows: the card ends up in the renamed deck."""
    a, b = devices(2)
    _note, (card,) = add(a, "cinco", "five")
    with a.col.transaction():
        spanish = decks.create(a.col, "Spanish")
    converge([a, b])
    with a.col.transaction():
        decks.rename(a.col, spanish, "Español")
    with b.col.transaction():
        cards.move(b.col, [card], decks.find(b.col, "Spanish").id)
    converge([a, b])
    for device in (a, b):
        assert cards.info(device.col, card).deck == "Español"
        assert decks.lookup(device.col, "Spanish") is None
    assert_identical([a, b])


def test_deleting_a_deck_while_another_device_adds_a_card_to_it(devices):
    """The new card was not known to the deleting device: it survives (nothing is lost) and
    both devices agree on it and on the deck."""
    a, b = devices(2)
    with a.col.transaction():
        decks.create(a.col, "French")
    _old, (old_card,) = add(a, "chat", "cat", deck="French")
    converge([a, b])
    with a.col.transaction():
        decks.delete(a.col, decks.find(a.col, "French"))
    _new, (new_card,) = add(b, "chien", "dog", deck="French")
    converge([a, b])
    for device in (a, b):
        rows = dict(device.col.conn.execute("SELECT id, deleted FROM cards"))
        assert rows[old_card] == 1 and rows[new_card] == 0
    assert_identical([a, b])


def test_an_edit_of_a_field_another_device_removed_is_kept_hidden(devices):
    """Removing a field hides its values; a concurrent edit of it still merges (and would show
    again if the field were restored). Search text leaves the removed field out everywhere."""
    a, b = devices(2)
    note, _cards = add(a, "seis", "six")
    converge([a, b])
    with a.col.transaction():
        notetypes.remove_field(a.col, notetypes.find(a.col, "Basic"), "Back")
    with b.col.transaction():
        notes.edit(b.col, notes.load(b.col, note.id), {"Back": "SIX"})
    converge([a, b])
    back = BASIC.field("Back").id
    for device in (a, b):
        assert notes.load(device.col, note.id).fields[back] == "SIX"
        assert search(device, note.id) == "seis"
    assert_identical([a, b])


def test_search_text_follows_field_changes_on_every_device(devices):
    """A note's search text is derived from its fields in the note type's order: adding,
    reordering and removing fields must rebuild it for every note of the type, on the device
    that made the change and on those that receive it."""
    a, b = devices(2)
    note, _cards = add(a, "siete", "seven")
    converge([a, b])
    basic = BASIC.id
    with a.col.transaction():
        notetypes.reorder_fields(a.col, notetypes.load(a.col, basic), ["Back", "Front"])
    with b.col.transaction():
        notetypes.add_field(b.col, notetypes.load(b.col, basic), "Extra")
    converge([a, b])
    for device in (a, b):
        nt = notetypes.load(device.col, basic)
        assert search(device, note.id) == notes.search_text(
            nt, notes.load(device.col, note.id).fields
        )
        assert search(device, note.id) == "seven\x1fsiete\x1f"
    assert_identical([a, b])


def test_note_type_structure_changes_merge_field_by_field(devices):
    """Renaming a field on one device, adding a template on another and renaming the note type
    on a third are independent field-level changes (Anki needs a full sync for two of them)."""
    a, b, c = devices(3)
    note, _cards = add(a, "ocho", "eight")
    converge([a, b, c])
    with a.col.transaction():
        notetypes.rename_field(a.col, notetypes.load(a.col, BASIC.id), "Back", "Meaning")
    with b.col.transaction():
        notetypes.add_template(
            b.col, notetypes.load(b.col, BASIC.id), "Reverse", "{{Back}}", "{{FrontSide}}"
        )
    with c.col.transaction():
        notetypes.rename(c.col, notetypes.load(c.col, BASIC.id), "Simple")
    converge([a, b, c])
    for device in (a, b, c):
        nt = notetypes.load(device.col, BASIC.id)
        assert nt.name == "Simple"
        assert [f.name for f in nt.fields] == ["Front", "Meaning"]
        assert [t.name for t in nt.templates] == ["Card 1", "Reverse"]
        assert "{{Meaning}}" in nt.templates[0].back
        assert len(notes.card_ids(device.col, note.id)) == 2
    assert_identical([a, b, c])


def test_a_preset_change_reschedules_the_same_cards_everywhere(devices):
    """Scheduling state is a fold with the preset's options, so a preset change that arrives
    by sync re-folds exactly as the local change did."""
    a, b = devices(2)
    made = [add(a, f"p{i}", f"q{i}")[1][0] for i in range(3)]
    for i, card in enumerate(made):
        answer(a, card, 3, at=NOON + i)
    converge([a, b])
    with a.col.transaction():
        current = presets.load(a.col, decks.find(a.col, "Default").preset_id)
        presets.save(a.col, current.with_options(learning_steps=(5.0, 30.0)))
        reviews.refold_decks(a.col, [decks.find(a.col, "Default").id])
    answer(b, made[0], 4, at=NOON + 60_000)
    converge([a, b])
    assert_identical([a, b])


# -- time: G10 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["ahead-first", "behind-first"])
def test_devices_a_day_apart_converge_to_the_same_winner(devices, order):
    """Clocks off by a day either way never block a sync; the hybrid logical clock orders the
    edits, so the outcome does not depend on who syncs first: the edit with the greater clock
    value wins everywhere — here the device a day ahead, although it edited first (its clock,
    not the wall clock of the machine running the test, is what stamps its edits)."""
    (base,) = devices(1)
    note, (card,) = add(base, "nueve", "nine")
    base.sync()
    ahead, behind = devices(2)
    ahead.clock.ms = NOON + DAY_MS
    behind.clock.ms = NOON - DAY_MS
    converge([ahead, behind])
    # the device a day ahead edits first: its clock value is still the greater one
    with ahead.col.transaction():
        notes.edit(ahead.col, notes.load(ahead.col, note.id), {"Back": "from ahead"})
    with behind.col.transaction():
        notes.edit(behind.col, notes.load(behind.col, note.id), {"Back": "from behind"})
    answer(ahead, card, 3)
    answer(behind, card, 2)
    answer(base, card, 1)
    trio = [ahead, behind, base] if order == "ahead-first" else [behind, base, ahead]
    converge(trio)
    for device in trio:
        assert BASIC.values_by_name(notes.load(device.col, note.id).fields)["Back"] == "from ahead"
        assert len(review_ids(device, card)) == 3
    assert_identical(trio)


# -- the protocol: G1, G4, G11 -------------------------------------------------------------------


@pytest.mark.parametrize("fault", [Fault.DROP_REQUEST, Fault.DROP_RESPONSE])
@pytest.mark.parametrize("route", ["/v1/sync/push", "/v1/sync/pull"])
def test_a_lost_request_or_response_fails_the_sync_and_the_next_one_completes(
    devices, server_app, fault, route
):
    """A sync cut off at either end raises ``ServerUnavailable`` with the collection intact;
    the next sync finishes the job, and the server holds each change exactly once."""
    a, b = devices(2)
    add(a, "diez", "ten")
    a.sync()
    _note, (card,) = add(b, "once", "eleven")
    answer(b, card, 3)
    b.transport.arm(fault, route)
    with pytest.raises(ServerUnavailable):
        b.sync()
    assert not b.transport.armed
    b.sync()
    a.sync()
    assert server_app.count_changes() == sum(
        d.col.conn.execute("SELECT count(*) FROM changes").fetchone()[0] for d in (a, b)
    )
    assert_identical([a, b])


@pytest.mark.parametrize("route", ["/v1/sync/push", "/v1/sync/pull"])
def test_a_duplicated_request_is_applied_once(devices, server_app, route):
    """A request delivered twice (a retrying proxy) changes nothing the second time."""
    a, b = devices(2)
    _note, (card,) = add(a, "doce", "twelve")
    answer(a, card, 3)
    a.transport.arm(Fault.DUPLICATE, route)
    a.sync()
    assert [s.delivered for s in a.transport.log if s.fault is Fault.DUPLICATE] == [2]
    converge([b, a])
    assert server_app.count_changes() == sum(
        d.col.conn.execute("SELECT count(*) FROM changes").fetchone()[0] for d in (a, b)
    )
    assert review_ids(b, card) == review_ids(a, card)
    assert_identical([a, b])


def test_a_server_restart_between_syncs_loses_nothing(devices, server_app):
    """The server keeps no state outside its database: a new app on the same file carries on
    from the same log positions."""
    a, b = devices(2)
    add(a, "trece", "thirteen")
    a.transport.arm(Fault.DROP_RESPONSE, "/v1/sync/push")
    with pytest.raises(ServerUnavailable):
        a.sync()
    server_app.restart()
    converge([a, b])
    assert_identical([a, b])
    idle = b.sync()
    assert idle.requests == 1 and idle.pulled == 0


def test_unknown_change_kinds_are_kept_and_relayed(devices):
    """A newer client's change kinds (and unknown fields of known kinds) reach every device and
    are kept there, never dropped; the known part of a partly known change is applied."""
    from flipdeck.protocol import messages

    a, b, c = devices(3)
    note, _cards = add(a, "catorce", "fourteen")
    converge([a, b, c])
    lesson = messages.Change(
        "c-lesson-1", "lesson_progress", "lesson-1", "0" * 12 + "0001" + "f" * 16, {"done": True}
    )
    future_note = messages.Change(
        "c-note-1",
        "note",
        note.id,
        "ffff00000000" + "0001" + "f" * 16,
        {"tags": " future ", "colour": "blue"},
    )
    a.client.push(messages.PushRequest("newer-client", [lesson, future_note]), "newer-1")
    converge([b, c])
    for device in (b, c):
        kept = {row[0]: row for row in foreign(device.col)}
        assert set(kept) == {"c-lesson-1", "c-note-1"}
        assert json.loads(kept["c-note-1"][4]) == {"tags": " future ", "colour": "blue"}
        assert notes.load(device.col, note.id).tags == ("future",)
    assert foreign(b.col) == foreign(c.col)


def test_rows_arriving_before_what_they_depend_on_settle_when_it_arrives(devices):
    """Reviews before their card, a card before its deck, a note before its note type: each is
    kept, and once the rest arrives the card is folded and the note indexed exactly as on the
    device that made them."""
    (a,) = devices(1)
    with a.col.transaction():
        vocab = notetypes.create(a.col, "Vocab", ["Word", "Meaning"])
        deck = decks.create(a.col, "Latin")
        note, (card,) = notes.add(a.col, vocab, deck.id, ["quindecim", "fifteen"])
        default = decks.find(a.col, "Default")
        unseen, (new_card,) = notes.add(a.col, vocab, default.id, ["sedecim", "sixteen"])
    answer(a, card, 3)
    answer(a, card, 3, at=NOON + 600_000)
    changes = [
        inbox.Incoming(r[0], r[1], r[2], r[3], json.loads(r[4]))
        for r in a.col.conn.execute(
            "SELECT id, entity, row_id, hlc, data FROM changes ORDER BY seq"
        )
    ]
    rank = {"review": 0, "card": 1, "note": 2}
    changes.sort(key=lambda c: rank.get(c.entity, 3))  # dependents first, then the rest
    (b,) = devices(1)
    cut = sum(c.entity in ("review", "card") for c in changes)
    for page in (changes[:cut], changes[cut:]):  # in two pulls, each settled on its own
        with b.col.transaction():
            inbox.apply(b.col, page)
    assert state(b, card) == state(a, card)
    assert search(b, note.id) == search(a, note.id) == "quindecim\x1ffifteen"
    # a new card sorts by its note's creation, which came after the card
    assert b.col.conn.execute("SELECT due FROM cards WHERE id = ?", (new_card,)).fetchone() == (
        unseen.created,
    )
    mine = {note.id, unseen.id, card, new_card, deck.id, vocab.id, *(f.id for f in vocab.fields)}
    for table in ("cards", "notes", "reviews", "decks", "notetypes", "nt_fields"):
        rows_b = [r for r in dump(b.col)[table] if table == "reviews" or r[0] in mine]
        rows_a = [r for r in dump(a.col)[table] if table == "reviews" or r[0] in mine]
        assert rows_b == rows_a, table


def test_the_first_sync_of_a_device_with_its_own_notes_merges(devices):
    """No side is ever chosen (G1): a device that studied on its own before signing in keeps
    its notes and reviews and gains the account's."""
    a, b = devices(2)
    _note_a, (card_a,) = add(a, "dieciséis", "sixteen")
    first = answer(a, card_a, 3).event_id
    a.sync()
    _note_b, (card_b,) = add(b, "diecisiete", "seventeen", deck="Own")
    second = answer(b, card_b, 2).event_id
    converge([b, a])
    for device in (a, b):
        assert review_ids(device) == sorted([first, second])
        assert {cards.info(device.col, c).id for c in (card_a, card_b)} == {card_a, card_b}
    assert_identical([a, b])


def test_another_devices_defaults_change_nothing_and_refold_nothing(devices, monkeypatch):
    """Every device writes the defaults with the genesis stamp, and the copy from the device
    with the greater node id wins everywhere; since its values are the same, receiving it
    must not re-fold every card or re-index every note (it did, on each new device's first
    sync). The defaults are replayed here stamped with the greatest possible node id, so they
    win for certain."""
    (a,) = devices(1)
    _note, (card,) = add(a, "dieciocho", "eighteen")
    answer(a, card, 3)
    (b,) = devices(1)
    defaults = [
        inbox.Incoming(r[0], r[1], r[2], r[3][:16] + "f" * 16, json.loads(r[4]))
        for r in b.col.conn.execute(
            "SELECT id, entity, row_id, hlc, data FROM changes WHERE hlc < '0000000000000001'"
        )
        if r[2] != "timezone"  # set by the test (as the user would), so not a default
    ]
    assert {c.entity for c in defaults} >= {"preset", "deck", "notetype", "ntfield", "config"}
    calls = []
    monkeypatch.setattr(reviews, "rebuild", lambda *args, **kw: calls.append("rebuild"))
    monkeypatch.setattr(reviews, "refold_decks", lambda *args, **kw: calls.append("refold"))
    monkeypatch.setattr(notes, "reindex", lambda *args, **kw: calls.append("reindex"))
    before = dump(a.col)
    with a.col.transaction():
        applied = inbox.apply(a.col, defaults)
    assert applied.merged == len(defaults) and calls == []
    after = dump(a.col)
    for table, rows in before.items():
        names = dump_columns(table)
        strip = [tuple(v for n, v in zip(names, r, strict=True) if n != "clock") for r in rows]
        again = [
            tuple(v for n, v in zip(names, r, strict=True) if n != "clock") for r in after[table]
        ]
        assert again == strip, table


def test_a_template_removed_while_another_device_adds_notes(devices):
    """The other device still had the template, so its new note has a card for it: the card is
    kept (nothing is lost) and both devices agree on it."""
    a, b = devices(2)
    nt_name = "Basic (and reversed card)"
    add(a, "diecinueve", "nineteen", notetype=nt_name)
    converge([a, b])
    with a.col.transaction():
        notetypes.remove_template(a.col, notetypes.find(a.col, nt_name), "Card 2")
    _note, made = add(b, "veinte", "twenty", notetype=nt_name)
    assert len(made) == 2
    converge([a, b])
    assert_identical([a, b])


def test_each_device_removing_the_other_field_leaves_a_type_that_refuses_new_notes(devices):
    """Each device may remove one field of a two-field type (never its last); merged, the type
    has none. Adding a note to it is then a clear refusal, not a crash, on every device."""
    from flipdeck.core.errors import InvalidInput

    a, b = devices(2)
    with a.col.transaction():
        nt = notetypes.create(a.col, "Pair", ["One", "Two"])
    converge([a, b])
    with a.col.transaction():
        notetypes.remove_field(a.col, notetypes.load(a.col, nt.id), "One")
    with b.col.transaction():
        notetypes.remove_field(b.col, notetypes.load(b.col, nt.id), "Two")
    converge([a, b])
    for device in (a, b):
        merged = notetypes.load(device.col, nt.id)
        assert merged.fields == ()
        with pytest.raises(InvalidInput, match="has no fields"), device.col.transaction():
            notes.add(device.col, merged, decks.ensure(device.col, "Default").id, ["x"])
    assert_identical([a, b])

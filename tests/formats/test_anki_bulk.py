"""The bulk path the Anki importer writes through (``store.bulk_import``) builds exactly the rows
and change records ``Collection.write`` / ``append_review`` build, so sync cannot tell an
imported note from one added by hand."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flipdeck.core import hlc
from flipdeck.core.ids import derived_id
from flipdeck.core.scheduling import CardState
from flipdeck.store import bulk_import, notetypes
from flipdeck.store.collection import Collection


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_fast_derived_id_is_the_derived_id(parts):
    assert bulk_import.derived_id(*parts) == derived_id(*parts)


def _pair(tmp_path, clock):
    a = Collection.open(tmp_path / "bulk.db", now=clock)
    b = Collection.open(tmp_path / "write.db", now=clock)
    return a, b


def _row(col, table, row_id):
    cursor = col.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,))
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def _change(col, row_id):
    return col.conn.execute(
        "SELECT entity, hlc, data FROM changes WHERE row_id = ? ORDER BY seq DESC LIMIT 1",
        (row_id,),
    ).fetchone()


def _same_clock(clock_json: str, stamp: str) -> list[str]:
    clock = json.loads(clock_json)
    assert set(clock.values()) == {stamp}
    return list(clock)


@pytest.mark.parametrize("odd_ids", [False, True])
def test_notes_and_cards_equal_what_write_makes(tmp_path, clock, odd_ids):
    bulk, plain = _pair(tmp_path, clock)
    try:
        basic = notetypes.find(bulk, "Basic")
        ids = ['f%d"é\\', "%s\x01"] if odd_ids else [f.id for f in basic.fields]
        fields = {ids[0]: 'día "quoted" <b>x</b> 🍬 %s', ids[1]: "back\nline\x00"}
        note = bulk_import.NewNote(
            "note-1", basic.id, "g/u\\id", fields, " a b::c ", 1_700_000_000_000, "search"
        )
        card = bulk_import.NewCard(
            "card-1", "note-1", basic.templates[0].id, 0, "deck-1", 3, 1, 99, CardState(), 7
        )
        with bulk.transaction():
            bulk_import.insert_notes(bulk, [note])
            bulk_import.insert_cards(bulk, [card])
        with plain.transaction():
            plain.write(
                "note",
                "note-1",
                {
                    "notetype_id": basic.id,
                    "guid": "g/u\\id",
                    "tags": " a b::c ",
                    "created": 1_700_000_000_000,
                    "deleted": 0,
                    **{f"fields.{k}": v for k, v in fields.items()},
                },
            )
            plain.conn.execute("UPDATE notes SET search = 'search' WHERE id = 'note-1'")
            plain.write(
                "card",
                "card-1",
                {
                    "note_id": "note-1",
                    "template": basic.templates[0].id,
                    "ord": 0,
                    "deck_id": "deck-1",
                    "deleted": 0,
                    "flag": 3,
                    "suspended": 1,
                    "buried_until": 99,
                },
            )
            plain.conn.execute(
                "UPDATE cards SET queue = -1, state = 0, due = 7 WHERE id = 'card-1'"
            )
        for table, row_id in (("notes", "note-1"), ("cards", "card-1")):
            mine, theirs = _row(bulk, table, row_id), _row(plain, table, row_id)
            my_change, their_change = _change(bulk, row_id), _change(plain, row_id)
            assert _same_clock(mine.pop("clock"), my_change[1]) == _same_clock(
                theirs.pop("clock"), their_change[1]
            )
            assert mine == theirs
            assert (my_change[0], my_change[2]) == (their_change[0], their_change[2])
    finally:
        bulk.close()
        plain.close()


def test_reviews_equal_what_append_review_makes(tmp_path, clock):
    bulk, plain = _pair(tmp_path, clock)
    try:
        event = bulk_import.NewReview("ev-1", "card-1", 3, 1_700_000_000_000, 1234, "learn", None)
        with bulk.transaction():
            assert bulk_import.append_reviews(bulk, [event]) == 1
            assert bulk_import.append_reviews(bulk, [event]) == 0  # union: never twice
        with plain.transaction():
            plain.append_review("ev-1", "card-1", 3, 1_700_000_000_000, 1234, "learn")
        assert _row(bulk, "reviews", "ev-1") == _row(plain, "reviews", "ev-1")
        assert _change(bulk, "ev-1")[2] == _change(plain, "ev-1")[2]
    finally:
        bulk.close()
        plain.close()


def test_undone_reviews_are_not_brought_back(col):
    with col.transaction():
        col.conn.execute("INSERT INTO review_graves(id) VALUES ('gone')")
        event = bulk_import.NewReview("gone", "card-1", 3, 1, None, "learn")
        assert bulk_import.append_reviews(col, [event]) == 0
    assert col.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_change_ids_and_stamps(col):
    ids = bulk_import.change_ids(col, 5000)
    assert len(set(ids)) == 5000
    parsed = [uuid.UUID(i) for i in ids]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    assert [u.int >> 64 for u in parsed] == sorted(u.int >> 64 for u in parsed)
    before = col.clock.last
    stamps = bulk_import.stamps(col, 70_000)  # crosses the 16-bit counter
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert stamps[0] > before
    assert col.clock.now() > stamps[-1]
    assert all(hlc.decode(s)[2] == col.clock.node for s in stamps[:3])


_TOKENS = [*"ab C\t\n\r&;<>/\"'", "é", "İ", "ß", "\u00a0", "<br>", "&amp;", "<b>", "<div>"]
_FIELD = st.lists(st.sampled_from(_TOKENS), max_size=20).map("".join)


@given(st.lists(_FIELD, min_size=2, max_size=2))
def test_import_search_text_is_the_store_search_text(values):
    """The importer's inline search text equals ``notes.search_text`` for any field values."""
    from flipdeck.core.notetypes import BASIC
    from flipdeck.formats.apkg import _search
    from flipdeck.store.notes import search_text

    fields = {f.id: v for f, v in zip(BASIC.fields, values, strict=True)}
    assert _search(values) == search_text(BASIC, fields)

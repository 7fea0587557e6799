"""The JSON backup restores exactly: every row with its per-field clock, the review log and
its graves, media; the derived card state re-folds to the same values. Restoring it again, or
into the collection it came from, changes nothing."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flipdeck.core import hlc
from flipdeck.formats import jsonbackup
from flipdeck.formats.detect import detect, import_text_data
from flipdeck.formats.summary import ImportFailed, ImportOptions, no_progress
from flipdeck.store import cards, decks, notes, notetypes, reviews
from flipdeck.store.collection import Collection
from tests.formats.test_csv_import import DATA, run

DERIVED = "id, queue, state, step, stability, difficulty, due, interval, reps, lapses, last_day"


def restore(col, text: str, **options):
    data = text.encode()
    assert detect(data, "backup.json") == "json"
    summary, _ = import_text_data(col, data, "json", ImportOptions(**options), no_progress)
    return summary


def comparable(data: dict) -> dict:
    """A dump with the genesis stamps' device part blanked: rows every collection is born with
    are stamped at clock zero by *its* device, and any real edit beats them."""

    def stamp(value: str) -> str:
        return "genesis" if hlc.decode(value)[0] == 0 else value

    rows = [
        {**row, "clock": {k: stamp(v) for k, v in row["clock"].items()}} for row in data["rows"]
    ]
    return {**data, "rows": rows}


def derived(col) -> list[tuple]:
    return col.conn.execute(f"SELECT {DERIVED} FROM cards ORDER BY id").fetchall()


@pytest.fixture
def studied(col, clock):
    """A collection with history: imported notes, answers over days, a suspended, a flagged
    and a buried card, an undone answer, a deleted note, a new note type and media."""
    run(col, DATA / "spanish-notes.txt")
    ids = [r[0] for r in col.conn.execute("SELECT id FROM cards ORDER BY id")]
    with col.transaction():
        for day in range(3):
            for cid in ids[:10]:
                reviews.answer(col, cid, 1 + (day + len(cid)) % 4)
            clock.advance(days=1)
        undone = reviews.answer(col, ids[11], 3)
        reviews.undo(col, undone)
        cards.set_suspended(col, ids[12:14], True)
        cards.set_flag(col, ids[14:15], 2)
        cards.bury(col, ids[15:16], clock() + 86_400_000)
        notes.delete(
            col,
            [col.conn.execute("SELECT note_id FROM cards WHERE id = ?", (ids[20],)).fetchone()[0]],
        )
        nt = notetypes.create(col, "Vocab", ["Word", "Meaning", "Example"])
        notes.add(col, nt, decks.ensure(col, "Extra").id, ["perro", "dog", '<img src="d.png">'])
        col.conn.execute(
            "INSERT INTO media(sha256, name, size, data, added, deleted, clock)"
            " VALUES ('ab', 'd.png', 3, x'010203', 1, 0, '{}')"
        )
    return col


def test_a_backup_restores_exactly(studied, tmp_path):
    text, count = jsonbackup.dump_text(studied)
    assert count == 48  # 48 imported, one deleted, one added
    other = Collection.open(tmp_path / "restored.db")
    try:
        summary = restore(other, text)
        assert (summary.added, summary.reviews, summary.media) == (49, 30, 1)
        assert comparable(jsonbackup.dump(other)) == comparable(jsonbackup.dump(studied))
        assert derived(other) == derived(studied)
        assert other.conn.execute("SELECT data FROM media").fetchone()[0] == b"\x01\x02\x03"
        assert other.conn.execute("SELECT count(*) FROM review_graves").fetchone()[0] == 1
        # the restored rows are in the outbox, so a sync sends them on
        assert (
            other.conn.execute("SELECT count(*) FROM changes WHERE entity = 'note'").fetchone()[0]
            >= 49
        )
    finally:
        other.close()


def test_restoring_into_the_same_collection_changes_nothing(studied):
    text, _ = jsonbackup.dump_text(studied)
    before = jsonbackup.dump(studied), derived(studied)
    changes = studied.conn.execute("SELECT count(*) FROM changes").fetchone()[0]
    summary = restore(studied, text)
    assert (summary.added, summary.updated, summary.reviews, summary.media) == (0, 0, 0, 0)
    assert (jsonbackup.dump(studied), derived(studied)) == before
    assert studied.conn.execute("SELECT count(*) FROM changes").fetchone()[0] == changes


def test_a_newer_local_edit_survives_a_restore(col):
    run(col, "a.csv", b"#separator:Comma\ngato,cat\n")
    text, _ = jsonbackup.dump_text(col)
    note = notes.load(col, col.conn.execute("SELECT id FROM notes").fetchone()[0])
    with col.transaction():
        notes.edit(col, note, {"Back": "newer"})
    restore(col, text)
    assert "newer" in col.conn.execute("SELECT fields FROM notes").fetchone()[0]


def test_a_query_exports_those_notes_with_what_they_need(studied, tmp_path):
    card = studied.conn.execute(
        "SELECT id FROM cards WHERE note_id IN (SELECT id FROM notes"
        " WHERE fields LIKE '%perro%' AND deleted = 0)"
    ).fetchall()
    data = jsonbackup.dump(studied, [c[0] for c in card])
    entities = {r["entity"] for r in data["rows"]}
    assert entities >= {"note", "card", "notetype", "ntfield", "deck", "preset"}
    assert [m["name"] for m in data["media"]] == ["d.png"]
    other = Collection.open(tmp_path / "part.db")
    try:
        summary = restore(other, json.dumps(data))
        assert summary.added == len([r for r in data["rows"] if r["entity"] == "note"])
    finally:
        other.close()


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (
            '{"format": "flipdeck-backup", "version": 1, "rows": [',
            "line 1, column 54",
            "not valid JSON",
        ),
        ('{"format": "flipdeck-backup", "version": 9}', None, "backup version 9"),
        (
            '{"format": "flipdeck-backup", "version": 1, "rows": [{"entity": "nope"}]}',
            "rows[0]",
            "is not a row",
        ),
    ],
)
def test_bad_backups_are_refused_whole(col, text, where, words):
    before = col.conn.execute("SELECT count(*) FROM changes").fetchone()[0]
    with pytest.raises(ImportFailed) as caught:
        restore(col, text)
    assert caught.value.where == where
    assert words in str(caught.value)
    assert col.conn.execute("SELECT count(*) FROM changes").fetchone()[0] == before


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    items=st.lists(
        st.tuples(
            st.text(min_size=1, max_size=8).filter(str.strip),
            st.text(max_size=8),
            st.lists(st.integers(1, 4), max_size=4),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_backup_restore_property(items):
    with tempfile.TemporaryDirectory() as tmp:
        a = Collection.open(Path(tmp) / "a.db")
        b = Collection.open(Path(tmp) / "b.db")
        try:
            with a.transaction():
                basic = notetypes.find(a, "Basic")
                deck = decks.ensure(a, "D").id
                for front, back, ratings, suspend in items:
                    try:
                        _, card_ids = notes.add(a, basic, deck, [front, back])
                    except Exception:
                        continue
                    for r in ratings:
                        reviews.answer(a, card_ids[0], r)
                    if suspend:
                        cards.set_suspended(a, card_ids, True)
            text, _ = jsonbackup.dump_text(a)
            restore(b, text)
            assert comparable(jsonbackup.dump(b)) == comparable(jsonbackup.dump(a))
            assert derived(b) == derived(a)
        finally:
            a.close()
            b.close()

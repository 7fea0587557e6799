"""The bulk path writes what the one-row path writes: the same note and card rows, clocks and
change records (so sync cannot tell an imported note from a typed one), and matching reads
candidates in a bounded number of queries."""

from __future__ import annotations

import json

from flipdeck.store import decks, notes, notetypes
from flipdeck.store.bulk import BulkWriter, by_guid
from tests.formats.test_csv_import import run


def _row(col, table, row_id):
    cur = col.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,))
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def _changes(col, row_id):
    return [
        (entity, json.loads(data))
        for entity, data in col.conn.execute(
            "SELECT entity, data FROM changes WHERE row_id = ? ORDER BY seq", (row_id,)
        )
    ]


def test_a_bulk_note_equals_a_note_added_one_by_one(col):
    nt = notetypes.find(col, "Basic (and reversed card)")
    with col.transaction():
        deck = decks.ensure(col, "Lang")
        slow, slow_cards = notes.add(
            col, nt, deck.id, ['<b>hé</b> "x"', "b\\c 🍬"], ["t", "u"], guid="guid-slow"
        )
        writer = BulkWriter(col)
        fast_id, fast_cards = writer.add(
            nt, deck.id, ['<b>hé</b> "x"', "b\\c 🍬"], ["t", "u"], guid="guid-fast"
        )
        writer.close()
    a, b = _row(col, "notes", slow.id), _row(col, "notes", fast_id)
    assert {k: v for k, v in a.items() if k not in ("id", "guid", "clock", "created")} == {
        k: v for k, v in b.items() if k not in ("id", "guid", "clock", "created")
    }
    assert a["fields"] == b["fields"]  # byte for byte: unchanged notes are found by string
    assert json.loads(a["clock"]).keys() == json.loads(b["clock"]).keys()
    assert len(set(json.loads(b["clock"]).values())) == 1
    slow_changes, fast_changes = _changes(col, slow.id), _changes(col, fast_id)
    assert [e for e, _ in slow_changes] == [e for e, _ in fast_changes] == ["note"]
    drop = ("guid", "created")
    assert {k: v for k, v in slow_changes[0][1].items() if k not in drop} == {
        k: v for k, v in fast_changes[0][1].items() if k not in drop
    }
    assert fast_changes[0][1]["guid"] == "guid-fast"
    assert len(fast_cards) == len(slow_cards) == 2
    for s, f in zip(slow_cards, fast_cards, strict=True):
        rs, rf = _row(col, "cards", s), _row(col, "cards", f)
        keep = ("template", "ord", "deck_id", "queue", "state", "flag", "suspended", "deleted")
        assert {k: rs[k] for k in keep} == {k: rf[k] for k in keep}
        assert rf["due"] == _row(col, "notes", fast_id)["created"]
        (kind_s, slow_data), (kind_f, fast_data) = _changes(col, s)[0], _changes(col, f)[0]
        assert kind_s == kind_f == "card"
        assert {**slow_data, "note_id": None} == {**fast_data, "note_id": None}
        assert fast_data["note_id"] == fast_id
    assert col.conn.execute("SELECT count(*) FROM changes").fetchone()[0] >= 6


def test_an_imported_note_can_be_edited_like_any_other(col):
    run(col, "a.csv", b"#separator:Comma\ngato,cat\n")
    note_id = col.conn.execute("SELECT id FROM notes").fetchone()[0]
    note = notes.load(col, note_id)
    with col.transaction():
        notes.edit(col, note, {"Back": "feline"})
    assert notes.load(col, note_id).fields[notetypes.find(col, "Basic").fields[1].id] == "feline"
    # the edit's stamp beats the import's
    clock = json.loads(_row(col, "notes", note_id)["clock"])
    back = notetypes.find(col, "Basic").fields[1].id
    assert clock[f"fields.{back}"] > clock["guid"]


def test_guid_matching_is_one_query_per_batch(col):
    rows = "".join(f"g{i}\tfront {i}\tback\n" for i in range(1200))
    run(col, "a.tsv", f"#separator:Tab\n#guid column:1\n{rows}".encode())
    statements = []
    col.conn.set_trace_callback(statements.append)
    try:
        found = by_guid(col, [f"g{i}" for i in range(1200)])
    finally:
        col.conn.set_trace_callback(None)
    assert len(found) == 1200
    assert len(statements) == 3  # 500 + 500 + 200


def test_reimport_reads_candidates_in_a_bounded_number_of_queries(col):
    rows = "".join(f"front {i},back {i}\n" for i in range(3000))
    text = f"#separator:Comma\n{rows}".encode()
    run(col, "a.csv", text)
    statements = []
    col.conn.set_trace_callback(statements.append)
    try:
        again = run(col, "a.csv", text)
    finally:
        col.conn.set_trace_callback(None)
    assert (again.added, again.skipped) == (0, 3000)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) < 40, selects[:50]
    edited = f"#separator:Comma\n{rows.replace('back ', 'changed ')}".encode()
    statements.clear()
    col.conn.set_trace_callback(statements.append)
    try:
        third = run(col, "a.csv", edited)
    finally:
        col.conn.set_trace_callback(None)
    assert (third.added, third.updated) == (0, 3000)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) < 60, len(selects)

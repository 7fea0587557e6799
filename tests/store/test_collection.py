"""The collection file: created once, WAL, refused untouched when damaged, foreign or too new,
and every action one transaction."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flipdeck import __version__
from flipdeck.core.errors import CollectionUnavailable
from flipdeck.store import decks, schema
from flipdeck.store.collection import Collection


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_collection_has_defaults(col):
    assert col.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert col.conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
    assert [d.name for d in decks.all_decks(col)] == ["Default"]
    names = {r[0] for r in col.conn.execute("SELECT name FROM notetypes")}
    assert {"Basic", "Cloze", "Basic (and reversed card)"} <= names
    assert col.meta("written_by") == __version__
    assert len(col.device_id) == 36


def test_reopening_keeps_device_and_clock(tmp_path, clock):
    path = tmp_path / "c.db"
    with Collection.open(path, now=clock) as first:
        device = first.device_id
        with first.transaction():
            decks.create(first, "A")
        stamp = first.clock.last
    with Collection.open(path, now=lambda: 0) as second:
        assert second.device_id == device
        # a wall clock far in the past must not make new stamps smaller
        assert second.clock.now() > stamp


def test_damaged_file_is_refused_untouched(tmp_path):
    path = tmp_path / "c.db"
    path.write_bytes(b"this is not sqlite" * 100)
    before = digest(path)
    with pytest.raises(CollectionUnavailable, match="not a readable flipdeck collection"):
        Collection.open(path)
    assert digest(path) == before
    assert not (tmp_path / "c.db-wal").exists()


def test_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(CollectionUnavailable, match="not a flipdeck collection"):
        Collection.open(path)
    assert digest(path) == before


def test_newer_schema_is_refused_naming_both_versions(tmp_path):
    path = tmp_path / "c.db"
    Collection.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.LATEST + 3}")
    conn.execute("UPDATE meta SET value = '9.4.0' WHERE key = 'written_by'")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(CollectionUnavailable) as caught:
        Collection.open(path)
    message = caught.value.message
    assert "flipdeck 9.4.0" in message and f"schema {schema.LATEST + 3}" in message
    assert f"flipdeck {__version__}" in message and f"schema {schema.LATEST})" in message
    assert digest(path) == before


def test_locked_collection_gives_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "c.db"
    Collection.open(path).close()
    monkeypatch.setattr("flipdeck.store.collection.BUSY_TIMEOUT_MS", 50)
    col = Collection.open(path)
    other = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(CollectionUnavailable, match="locked"), col.transaction():
            decks.create(col, "Blocked")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert decks.lookup(col, "Blocked") is None
    col.close()


def test_a_failed_action_leaves_nothing(col):
    """Every write and its change record are one transaction: an error rolls back both."""
    changes = col.conn.execute("SELECT count(*) FROM changes").fetchone()[0]
    with pytest.raises(RuntimeError), col.transaction():
        decks.create(col, "Half")
        raise RuntimeError("boom")
    assert decks.lookup(col, "Half") is None
    assert col.conn.execute("SELECT count(*) FROM changes").fetchone()[0] == changes


def test_every_mutation_writes_a_change_record(col):
    before = col.conn.execute("SELECT max(seq) FROM changes").fetchone()[0]
    with col.transaction():
        deck = decks.create(col, "Lang::French")
        decks.rename(col, deck, "Lang::Français")
    rows = col.conn.execute(
        "SELECT entity, data, hlc FROM changes WHERE seq > ? ORDER BY seq", (before,)
    ).fetchall()
    assert [r[0] for r in rows] == ["deck", "deck", "deck"]
    assert '"name":"Lang::Français"' in rows[-1][1]
    stamps = [r[2] for r in rows]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3


def test_deferred_checkpoints_leave_the_wal_to_a_background_checkpoint(tmp_path):
    from flipdeck.store.collection import checkpoint
    from tests.store.helpers import add

    path = tmp_path / "c.db"
    col = Collection.open(path)
    col.defer_checkpoints()
    with col.transaction():
        pass  # the defaults are in the file once a first checkpoint has run
    checkpoint(path)
    before = path.stat().st_size
    with col.transaction():
        for i in range(1500):  # far more than the 1,000 pages that trigger an automatic one
            add(col, f"front {i} " + "x" * 2000, "back")
    assert path.stat().st_size == before  # every new page still only in the WAL
    checkpoint(path)  # from its own connection, while the collection stays open
    assert path.stat().st_size > before + 1500 * 2000
    assert col.conn.execute("SELECT count(*) FROM notes").fetchone()[0] >= 1500
    col.close()


@given(st.dictionaries(st.text(), st.text(alphabet="0123456789abcdef", max_size=32)))
def test_a_clock_is_stored_as_compact_json_would_write_it(clock):
    """The clock column is joined by hand for speed: the text must be the JSON one, for any
    key a remote device may send (quotes, backslashes, control and non-ASCII characters)."""
    from flipdeck.store.collection import _encode_clock

    assert _encode_clock(clock) == json.dumps(clock, separators=(",", ":"))
    assert json.loads(_encode_clock(clock)) == clock

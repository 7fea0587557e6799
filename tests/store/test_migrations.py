"""Migrations: a blank database and one upgraded from every earlier schema end up identical,
and data written under an older schema survives the upgrade."""

from __future__ import annotations

import sqlite3

import pytest

from flipdeck.store import decks, schema
from flipdeck.store.collection import Collection


def shape(conn: sqlite3.Connection) -> list[tuple]:
    return sorted(
        (row[0], row[1], row[2])
        for row in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        )
    )


def test_migrations_are_recorded(tmp_path):
    with Collection.open(tmp_path / "c.db") as col:
        applied = [
            r[0] for r in col.conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")
        ]
    assert applied == schema.names()
    assert len(applied) == schema.LATEST >= 2


@pytest.mark.parametrize("start", range(1, schema.LATEST))
def test_upgrade_from_every_earlier_schema(tmp_path, start):
    fresh = Collection.open(tmp_path / "fresh.db")
    expected = shape(fresh.conn)
    fresh.close()

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert schema.migrate(conn, stop_after=start) == start
    conn.close()
    # a collection written by that older flipdeck, with data in it
    with Collection.open(path) as col:
        assert col.conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
        with col.transaction():
            decks.create(col, "Kept")
    with Collection.open(path) as col:
        assert shape(col.conn) == expected
        assert decks.lookup(col, "Kept") is not None


def test_upgrade_keeps_rows_written_before_it(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    schema.migrate(conn, stop_after=1)
    conn.execute("INSERT INTO meta(key, value) VALUES ('device_id', 'dev'), ('written_by', '0')")
    conn.execute(
        "INSERT INTO decks(id, name, preset_id, deleted, clock) VALUES ('d1', 'Old', 'p', 0, '{}')"
    )
    conn.close()
    with Collection.open(path) as col:
        assert decks.get(col, "d1").name == "Old"
        assert col.conn.execute("SELECT count(*) FROM media").fetchone()[0] == 0


def test_migrating_twice_is_harmless(tmp_path):
    path = tmp_path / "c.db"
    Collection.open(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    assert schema.migrate(conn) == schema.LATEST
    conn.close()

"""Provides :class:`Collection`, an open collection file, and its one way of writing.

Reads use the plain ``sqlite3`` connection (fast, no start-up cost); schema work goes through
sqlite-utils (see ``schema``). Every user action runs in :meth:`Collection.transaction`
(``BEGIN IMMEDIATE``, one commit), and every change to a syncable row goes through
:meth:`Collection.write`, which stamps it with the hybrid logical clock and appends the change
record in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from json.encoder import encode_basestring_ascii as _quote
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flipdeck import __version__
from flipdeck.core import merge
from flipdeck.core.errors import CollectionUnavailable
from flipdeck.core.hlc import Clock, node_of
from flipdeck.core.ids import uuid7
from flipdeck.store import schema
from flipdeck.store.entities import ENTITIES, REVIEW

if TYPE_CHECKING:
    from flipdeck.core.days import Calendar
    from flipdeck.core.presets import Preset
    from flipdeck.core.scheduling import Scheduler

BUSY_TIMEOUT_MS = 3000
CACHE_KIB = 64 * 1024
"""SQLite's page cache, at most (it grows as pages are read): with the default 2 MB, once a
collection outgrows it every random card-id or guid lookup of an import, a sync page or a
re-fold misses the cache (updating 5,000 cards' states took a third longer)."""


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def translate(error: sqlite3.Error, path: Path) -> CollectionUnavailable | None:
    """The user-facing error for an SQLite failure that is about the file, else ``None``."""
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return CollectionUnavailable(
            f"the collection {path} is locked by another program",
            hint="Wait for the other flipdeck command to finish, then try again.",
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return CollectionUnavailable(
            f"{path} is not a readable flipdeck collection (the file is damaged or not SQLite)",
            hint="Nothing was changed. Restore it from a backup, or move it aside to start anew.",
        )
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return CollectionUnavailable(
            f"cannot write to the collection {path}",
            hint="Check that the directory exists and that you may write to it.",
        )
    if "disk" in text or "full" in text:
        return CollectionUnavailable(
            f"the disk holding {path} failed or is full",
            hint="Free some space; nothing was half-written.",
        )
    return None


def merge_into(
    spec, local_clock: dict, current: dict | None, values: Mapping[str, Any], stamp: str
) -> tuple[dict, dict[str, Any]]:
    """The per-field merge of one change into a row's state: ``(won, columns)``, the fields of
    ``values`` that beat ``local_clock`` and the columns to write for them (the row's ``clock``
    and, for an entity with a map column, the whole map, always).

    ``local_clock`` and ``current`` (the map column's value; ``None`` without one) are the row's
    decoded state and are advanced in place, so several changes to one row can be merged in a
    row before it is written once (a sync page does that): the result is the same as applying
    them one by one through :meth:`Collection._apply`, which uses this too.
    """
    won = merge.winning_fields(local_clock, values, stamp)
    local_clock.update(merge.advance_clock(local_clock, won, stamp))
    columns: dict[str, Any] = {}
    prefix = f"{spec.map_column}."
    mapped = {}
    for key, value in won.items():
        if spec.map_column and key.startswith(prefix):
            mapped[key[len(prefix) :]] = value
        elif key in spec.json_columns:
            columns[key] = None if value is None else json.dumps(value)
        else:
            columns[key] = value
    if spec.map_column:
        current.update(mapped)
        columns[spec.map_column] = _encode_map(current)
    columns["clock"] = _encode_clock(local_clock)
    return won, columns


# json.dumps(value, ensure_ascii=False), without building an encoder for every call (json.dumps
# does, given any option)
_encode_map = json.JSONEncoder(ensure_ascii=False).encode


def _encode_clock(clock: dict[str, str]) -> str:
    """A row's clock as its column holds it: what ``json.dumps(clock, separators=(",", ":"))``
    writes, joined from the C string encoder, which takes half the time on a row's stamps."""
    return "{" + ",".join([f"{_quote(key)}:{_quote(stamp)}" for key, stamp in clock.items()]) + "}"


def checkpoint(path: Path) -> None:
    """Copy the collection's WAL into its file from a connection of its own.

    ``PASSIVE`` neither waits for nor blocks the open connection's readers and writer, and the
    sqlite3 module releases the GIL meanwhile, so a thread can run it while the user works.
    """
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        conn.close()


class Collection:
    """An open collection. Create with :meth:`open`; close with :meth:`close`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, now: Callable[[], int]) -> None:
        self.conn = conn
        self.path = path
        self._now = now
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        self.device_id: str = meta["device_id"]
        self.clock = Clock(node_of(self.device_id), last=meta.get("hlc"))
        self._saved_clock = self.clock.last
        self._depth = 0
        self._calendar: Calendar | None = None
        self._presets: dict[str, Preset] = {}
        self._schedulers: dict[str, Scheduler] = {}
        self._db = None

    # -- opening and closing ------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str | None = None, *, now: Callable[[], int] | None = None):
        """Open (creating and migrating when needed) the collection at ``path``.

        Nothing is written until the file is known to be a collection this flipdeck can read:
        a damaged file or one from a newer flipdeck is refused untouched.
        """
        if path is None:
            from flipdeck.paths import collection_path

            path = collection_path()
        path = Path(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as error:
            raise (translate(error, path) or error) from None
        try:
            version = cls._check_version(conn, path)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
            if version < schema.LATEST:
                schema.migrate(conn)
                cls._stamp_meta(conn)
            collection = cls(conn, path, now or _wall_ms)
            if version == 0:
                collection._initialise()
            return collection
        except sqlite3.Error as error:
            conn.close()
            raise (translate(error, path) or error) from None
        except BaseException:
            conn.close()
            raise

    @staticmethod
    def _check_version(conn: sqlite3.Connection, path: Path) -> int:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # fails if not SQLite
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > schema.LATEST:
            row = None
            with suppress(sqlite3.Error):
                row = conn.execute("SELECT value FROM meta WHERE key = 'written_by'").fetchone()
            writer = f"flipdeck {row[0]}" if row else "a newer flipdeck"
            raise CollectionUnavailable(
                f"{path} was written by {writer} (schema {version}); this is flipdeck "
                f"{__version__} (schema {schema.LATEST}), which cannot read it",
                hint="Upgrade flipdeck (pip install -U flipdeck); the file was not changed.",
            )
        if (
            version == 0
            and conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            ).fetchone()[0]
        ):
            raise CollectionUnavailable(
                f"{path} is an SQLite database but not a flipdeck collection",
                hint="Nothing was changed. Point FLIPDECK_HOME elsewhere, or move the file.",
            )
        return version

    @staticmethod
    def _stamp_meta(conn: sqlite3.Connection) -> None:
        """Give a new collection its device id, and record which flipdeck last migrated it."""
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('device_id', ?), ('created', ?)",
            (uuid7(), str(_wall_ms())),
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('written_by', ?)", (__version__,)
        )
        conn.execute("COMMIT")

    def _initialise(self) -> None:
        from flipdeck.store import bootstrap

        with self.transaction():
            bootstrap.install_defaults(self)

    def close(self) -> None:
        """Close the file (an open transaction is rolled back)."""
        self.conn.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- time, ids, transactions ----------------------------------------------------------------

    def now(self) -> int:
        """The current time in epoch milliseconds (injectable for tests)."""
        return self._now()

    @staticmethod
    def new_id() -> str:
        """A fresh UUIDv7 row id."""
        return uuid7()

    @property
    def db(self):
        """The sqlite-utils view of the same connection, for schema and bulk work."""
        if self._db is None:
            from sqlite_utils import Database

            self._db = Database(self.conn)
        return self._db

    @contextmanager
    def transaction(self) -> Iterator[Collection]:
        """One user action: ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception.

        Nested uses join the outer transaction. The clock is persisted with the commit.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise (translate(error, self.path) or error) from None
        self._depth = 1
        try:
            yield self
            if self.clock.last != self._saved_clock:
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('hlc', ?)", (self.clock.last,)
                )
            self.conn.execute("COMMIT")
            self._saved_clock = self.clock.last
        except BaseException as error:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self.invalidate()
            if isinstance(error, sqlite3.Error):
                translated = translate(error, self.path)
                if translated is not None:
                    raise translated from None
            raise
        finally:
            self._depth = 0

    def defer_checkpoints(self) -> None:
        """Keep this connection's commits from checkpointing the WAL.

        SQLite copies the log back into the file inside whichever commit crosses 1,000 pages,
        which costs 100–150 ms on a 100k-card collection: fine for a command, a visible stall
        for a key press. An interactive caller (the TUI) defers that and calls
        :func:`checkpoint` from a thread in the background instead.
        """
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")

    def invalidate(self) -> None:
        """Forget cached presets, schedulers, note types and the calendar (after they change,
        and after a rollback, which may have undone a change they were loaded from)."""
        self._calendar = None
        self._presets.clear()
        self._schedulers.clear()
        self.__dict__.pop("_notetypes", None)

    # -- the outbox ---------------------------------------------------------------------------

    def write(
        self, entity: str, row_id: str, values: Mapping[str, Any], *, stamp: str | None = None
    ) -> str:
        """Set fields of a syncable row (creating it if new) and record the change.

        ``values`` maps column names, or ``"fields.<field id>"`` for a note's field values, to
        JSON-serialisable values. Returns the stamp given to the change. Only the bootstrap
        passes ``stamp`` (the genesis stamp, which any real edit beats).
        """
        assert self._depth, "write() outside a transaction"
        spec = ENTITIES[entity]
        if not spec.keys_valid(values):
            raise ValueError(f"unknown {entity} fields: {sorted(values)}")
        stamp = stamp or self.clock.now()
        self._apply(spec, row_id, values, stamp)
        self.conn.execute(
            "INSERT INTO changes(id, entity, row_id, hlc, data) VALUES (?, ?, ?, ?, ?)",
            (
                uuid7(),
                entity,
                row_id,
                stamp,
                json.dumps(values, separators=(",", ":"), ensure_ascii=False),
            ),
        )
        return stamp

    def _apply(self, spec, row_id: str, values: Mapping[str, Any], stamp: str) -> dict:
        """Merge ``values`` stamped ``stamp`` into the row; returns the fields that won."""
        row = self.conn.execute(
            f"SELECT clock{', ' + spec.map_column if spec.map_column else ''} "
            f"FROM {spec.table} WHERE id = ?",
            (row_id,),
        ).fetchone()
        local_clock = json.loads(row[0]) if row and row[0] else {}
        current = (json.loads(row[1]) if row and row[1] else {}) if spec.map_column else None
        won, columns = merge_into(spec, local_clock, current, values, stamp)
        if not won and row is not None:
            return won
        if row is None:
            names = ["id", *columns]
            self.conn.execute(
                f"INSERT INTO {spec.table}({', '.join(names)}) "
                f"VALUES ({', '.join('?' * len(names))})",
                (row_id, *columns.values()),
            )
        else:
            assignments = ", ".join(f"{name} = ?" for name in columns)
            self.conn.execute(
                f"UPDATE {spec.table} SET {assignments} WHERE id = ?", (*columns.values(), row_id)
            )
        return won

    def append_review(
        self,
        event_id: str,
        card_id: str,
        rating: int,
        reviewed_at: int,
        duration_ms: int | None,
        kind: str,
        data: str | None = None,
    ) -> None:
        """Append one event to the review log and record it for sync."""
        assert self._depth, "append_review() outside a transaction"
        self.conn.execute(
            "INSERT INTO reviews(id, card_id, rating, reviewed_at, duration_ms, kind, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event_id, card_id, rating, reviewed_at, duration_ms, kind, data),
        )
        payload = {
            "card_id": card_id,
            "rating": rating,
            "reviewed_at": reviewed_at,
            "duration_ms": duration_ms,
            "kind": kind,
            "data": data,
        }
        self.conn.execute(
            "INSERT INTO changes(id, entity, row_id, hlc, data) VALUES (?, ?, ?, ?, ?)",
            (uuid7(), REVIEW, event_id, self.clock.now(), json.dumps(payload)),
        )

    def bury_review(self, event_id: str) -> None:
        """Undo a review: remove it and leave a grave so it never comes back from a sync."""
        assert self._depth, "bury_review() outside a transaction"
        self.conn.execute("DELETE FROM reviews WHERE id = ?", (event_id,))
        self.conn.execute("INSERT OR IGNORE INTO review_graves(id) VALUES (?)", (event_id,))
        self.conn.execute(
            "INSERT INTO changes(id, entity, row_id, hlc, data) VALUES (?, ?, ?, ?, ?)",
            (uuid7(), REVIEW, event_id, self.clock.now(), '{"deleted":true}'),
        )

    # -- meta ---------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A local (never synced) setting."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

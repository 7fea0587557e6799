"""Provides the collection's schema as named migrations, applied in order and recorded.

Migrations are sqlite-utils ``Migrations`` (recorded in ``_sqlite_migrations``). The count of
applied migrations is mirrored in ``PRAGMA user_version`` so that opening an up-to-date
collection costs one pragma and never imports sqlite-utils. Never edit a released migration:
add a new one, and extend ``tests/store/test_migrations.py``'s fixtures with its predecessor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

    from sqlite_utils import Database

MIGRATION_SET = "flipdeck"

# (name, function) in order; the schema version is the number applied.
_MIGRATIONS: list = []


def migration(fn):
    """Register ``fn`` as the next migration."""
    _MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(db: Database) -> None:
    """Everything issue 2 needs: content tables with per-field clocks, the review log,
    the change log (outbox), collection settings and local metadata."""
    clock = {"deleted": int, "clock": str}
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["config"].create({"id": str, "value": str, "clock": str}, pk="id")
    db["presets"].create(
        {
            "id": str,
            "name": str,
            "desired_retention": float,
            "new_per_day": int,
            "reviews_per_day": int,
            "learning_steps": str,
            "relearning_steps": str,
            "maximum_interval": int,
            "leech_threshold": int,
            "leech_action": str,
            "parameters": str,
            **clock,
        },
        pk="id",
        defaults={"deleted": 0},
    )
    db["decks"].create(
        {"id": str, "name": str, "preset_id": str, "description": str, **clock},
        pk="id",
        defaults={"deleted": 0, "description": ""},
    )
    db["notetypes"].create(
        {"id": str, "name": str, "kind": str, "css": str, "sort_field": str, **clock},
        pk="id",
        defaults={"deleted": 0, "kind": "standard", "css": ""},
    )
    db["nt_fields"].create(
        {"id": str, "notetype_id": str, "name": str, "ord": float, **clock},
        pk="id",
        defaults={"deleted": 0},
    )
    db["nt_fields"].create_index(["notetype_id"])
    db["nt_templates"].create(
        {
            "id": str,
            "notetype_id": str,
            "name": str,
            "ord": float,
            "front": str,
            "back": str,
            **clock,
        },
        pk="id",
        defaults={"deleted": 0},
    )
    db["nt_templates"].create_index(["notetype_id"])
    db["notes"].create(
        {
            "id": str,
            "notetype_id": str,
            "guid": str,
            "fields": str,
            "tags": str,
            "created": int,
            "search": str,
            **clock,
        },
        pk="id",
        defaults={"deleted": 0, "tags": " ", "fields": "{}", "search": ""},
    )
    db["notes"].create_index(["notetype_id"])
    db["notes"].create_index(["guid"])
    db["notes"].create_index(["created"])
    db["cards"].create(
        {
            "id": str,
            "note_id": str,
            "template": str,
            "ord": int,
            "deck_id": str,
            "flag": int,
            "suspended": int,
            "buried_until": int,
            **clock,
            # derived from the review log (see core.scheduling); never synced
            "queue": int,
            "state": int,
            "step": int,
            "stability": float,
            "difficulty": float,
            "due": int,
            "interval": int,
            "reps": int,
            "lapses": int,
            "last_day": int,
            "last_review": int,
        },
        pk="id",
        defaults={
            "deleted": 0,
            "flag": 0,
            "suspended": 0,
            "buried_until": 0,
            "queue": 0,
            "state": 0,
            "interval": 0,
            "reps": 0,
            "lapses": 0,
        },
    )
    # "what is due" reads only this index (a range on due within a queue, the deck and the
    # burial checked from the index itself); queue -2 marks deleted cards, -1 suspended ones
    db["cards"].create_index(["queue", "due", "deck_id", "buried_until"])
    db["cards"].create_index(["note_id"])
    db["reviews"].create(
        {
            "id": str,
            "card_id": str,
            "rating": int,
            "reviewed_at": int,
            "duration_ms": int,
            "kind": str,
            "data": str,
        },
        pk="id",
    )
    db["reviews"].create_index(["card_id", "reviewed_at", "id"])
    # today's work (daily limits, stats) reads only this index
    db["reviews"].create_index(["reviewed_at", "kind", "rating", "card_id"])
    db["review_graves"].create({"id": str}, pk="id")
    db.execute(
        "CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
        " entity TEXT NOT NULL, row_id TEXT NOT NULL, hlc TEXT NOT NULL, data TEXT NOT NULL,"
        " pushed INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute("CREATE INDEX changes_unpushed ON changes(seq) WHERE pushed = 0")


@migration
def m002_media(db: Database) -> None:
    """Media files, content-addressed by SHA-256, with the names notes refer to them by."""
    db["media"].create(
        {
            "sha256": str,
            "name": str,
            "size": int,
            "data": bytes,
            "added": int,
            "deleted": int,
            "clock": str,
        },
        pk="sha256",
        defaults={"deleted": 0},
    )
    db["media"].create_index(["name"])


@migration
def m003_sync(db: Database) -> None:
    """Sync bookkeeping: changes of kinds this version does not know (kept, never dropped, so
    a later version can apply them) and an index to find a card's reviews to re-fold."""
    db["foreign_changes"].create(
        {"id": str, "entity": str, "row_id": str, "hlc": str, "data": str, "received": int},
        pk="id",
    )


LATEST = len(_MIGRATIONS)


def names() -> list[str]:
    """The names of every migration this flipdeck knows, in order."""
    return [name for name, _fn in _MIGRATIONS]


def migrate(conn: sqlite3.Connection, *, stop_after: int | None = None) -> int:
    """Apply pending migrations (all, or the first ``stop_after``) under a write lock.

    Returns the schema version reached. The caller holds no transaction; each migration runs in
    a savepoint of one ``BEGIN IMMEDIATE`` transaction, so concurrent opens migrate once.
    """
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    target = LATEST if stop_after is None else stop_after
    migrations = Migrations(MIGRATION_SET)
    for name, fn in _MIGRATIONS[:target]:
        migrations(name=name)(fn)
    db = Database(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        migrations.apply(db)
        version = len(migrations.applied(db))
        conn.execute(f"PRAGMA user_version = {int(version)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version

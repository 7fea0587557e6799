"""Provides the server's versioned migrations: numbered scripts in this directory, each with
frozen copies of the models it creates, run by `flipdeck-server migrate` (peewee's
``playhouse.migrations`` runner, history in ``schema_migration``).

On PostgreSQL the run holds an advisory lock, so two hosts migrating at once migrate once.
"""

from __future__ import annotations

from pathlib import Path

DIRECTORY = Path(__file__).parent
_LOCK_ID = 7_318_004_201  # any constant: the advisory lock flipdeck's migrations share


def run(db) -> list[str]:
    """Apply every pending migration; returns the names applied."""
    import peewee
    from playhouse.migrations import Runner

    runner = Runner(db, directory=str(DIRECTORY))
    if isinstance(db, peewee.PostgresqlDatabase):
        db.execute_sql("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            return runner.up()
        finally:
            db.execute_sql("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return runner.up()


def pending(db) -> list[str]:
    """Names of migrations not applied yet."""
    from playhouse.migrations import Runner

    return [m.name for m in Runner(db, directory=str(DIRECTORY)).status() if not m.applied]

"""Provides the database: one peewee ``DatabaseProxy`` the models bind to, opened from
``FLIPDECK_DATABASE_URL`` by :func:`open_database`, and connected per request.

SQLite runs in WAL with foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for every
transaction (so two workers never deadlock upgrading a read lock). PostgreSQL uses a pool per
worker process; nothing connects until the first request, which is after gunicorn forks.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlparse

import peewee
from playhouse.pool import PooledPostgresqlDatabase

from flipdeck.server.config import Config, ConfigError

database = peewee.DatabaseProxy()

UNAVAILABLE = (peewee.OperationalError, peewee.InterfaceError)
"""Errors that mean the database cannot be reached or is locked: answered with 503."""


def open_database(config: Config) -> peewee.Database:
    """A database for the configured URL, bound to the proxy (without connecting)."""
    url = config.database_url
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        if not path:
            raise ConfigError(f"FLIPDECK_DATABASE_URL: expected sqlite:///PATH, got {url!r}")
        db: peewee.Database = peewee.SqliteDatabase(
            path,
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                "busy_timeout": int(config.db_timeout * 1000),
                "synchronous": "normal",
            },
            timeout=config.db_timeout,
            lock_type="IMMEDIATE",
            check_same_thread=False,
        )
    elif parsed.scheme in ("postgresql", "postgres"):
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        db = PooledPostgresqlDatabase(
            unquote(parsed.path.lstrip("/")) or "postgres",
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or "localhost",
            port=parsed.port or 5432,
            max_connections=config.pool_size,
            stale_timeout=300,
            timeout=config.db_timeout,
            connect_timeout=max(1, int(config.db_timeout)),
            **options,
        )
    else:
        raise ConfigError(
            f"FLIPDECK_DATABASE_URL must start with sqlite:/// or postgresql://, got {url!r}"
        )
    database.initialize(db)
    return db


def is_sqlite() -> bool:
    """Whether the bound database is SQLite."""
    return isinstance(database.obj, peewee.SqliteDatabase)


class ConnectionMiddleware:
    """A connection for each request that needs one (peewee connects on the first query), given
    back (to the pool) when the response is done; ``/health`` never touches the database."""

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        if not database.is_closed():
            database.close()

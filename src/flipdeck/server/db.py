"""Provides the database: one peewee ``DatabaseProxy`` the models bind to, opened from
``FLIPDECK_DATABASE_URL`` by :func:`open_database`, and connected per request.

SQLite runs in WAL with foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for every
transaction (so two workers never deadlock upgrading a read lock). PostgreSQL uses a pool per
worker process; nothing connects until the first request, which is after gunicorn forks.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from urllib.parse import parse_qs, unquote, urlparse

import peewee
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase, PooledSqliteDatabase

from flipdeck.server.config import Config, ConfigError

database = peewee.DatabaseProxy()

UNAVAILABLE = (peewee.OperationalError, peewee.InterfaceError, MaxConnectionsExceeded)
"""Errors that mean the database cannot be reached, is locked, or every pooled connection
stayed busy past the pool's timeout: answered with 503."""


def open_database(config: Config) -> peewee.Database:
    """A database for the configured URL, bound to the proxy (without connecting)."""
    url = config.database_url
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        if not path:
            raise ConfigError(f"FLIPDECK_DATABASE_URL: expected sqlite:///PATH, got {url!r}")
        # pooled too: closing the last connection to a WAL database checkpoints and deletes
        # the WAL (about 2 ms and an fsync), which a connection per request would pay each time
        db: peewee.Database = PooledSqliteDatabase(
            path,
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                "busy_timeout": int(config.db_timeout * 1000),
                "synchronous": "normal",
            },
            max_connections=config.pool_size,
            stale_timeout=300,
            timeout=config.db_timeout,
            lock_type="IMMEDIATE",
            check_same_thread=False,
        )
    elif parsed.scheme in ("postgresql", "postgres"):
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        db = PostgresPool(
            unquote(parsed.path.lstrip("/")) or "postgres",
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or "localhost",
            port=parsed.port or 5432,
            max_connections=config.pool_size,
            stale_timeout=300,
            timeout=config.db_timeout,
            connect_timeout=max(1, int(config.db_timeout)),
            # the driver this project installs and is written for; without this, peewee
            # silently switches to psycopg2 whenever that happens to be importable
            prefer_psycopg3=True,
            **options,
        )
    else:
        raise ConfigError(
            f"FLIPDECK_DATABASE_URL must start with sqlite:/// or postgresql://, got {url!r}"
        )
    database.initialize(db)
    return db


class PostgresPool(PooledPostgresqlDatabase):
    """peewee's PostgreSQL pool, without its ``SELECT 1`` on every checkout for connections
    handed back moments ago (that ping doubled the round trips of a typical request).

    A connection idle for longer than ``PING_AFTER`` seconds is still pinged, so after a
    database restart the pool discards dead connections instead of failing requests with them.
    """

    PING_AFTER = 1.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._returned: dict[int, float] = {}

    def _close(self, conn, close_conn=False):
        self._returned[self.conn_key(conn)] = time.monotonic()
        return super()._close(conn, close_conn)

    def _is_closed(self, conn):
        if conn.closed:
            return True
        returned = self._returned.get(self.conn_key(conn))
        if returned is not None and time.monotonic() - returned < self.PING_AFTER:
            return self._adapter.txn_status(conn) == self._adapter.txn_unknown
        return super()._is_closed(conn)


class _Statements(threading.local):
    """Per thread: the connection :func:`fetch_one` last ran on, and for each SQL text the
    function that runs it there (a kept cursor, or a statement prepared on the server)."""

    connection = None
    runs: dict = {}


_statements = _Statements()
_names = itertools.count()


def fetch_one(sql: str, params: tuple[str, ...]):
    """The first row of a query with text parameters, on the thread's connection, the cheapest
    way its driver offers: for the one query of every authenticated request.

    ``database.execute_sql`` opens a new driver cursor per statement, and psycopg's cursor
    layers (parameter adaptation, prepare bookkeeping, a generator-driven wait) cost more CPU
    than the query; on PostgreSQL the statement is instead prepared once per connection and run
    with one libpq call (psycopg's connection is in autocommit and keeps no other state a raw
    call could upset); a statement something deallocated is prepared again. Driver errors come
    out as peewee's, which the app answers with 503; after one, the next call starts afresh.
    """
    connection = database.connection()
    kept = _statements
    if kept.connection is not connection:
        kept.connection, kept.runs = connection, {}
    try:
        with peewee.__exception_wrapper__:
            run = kept.runs.get(sql)
            if run is None:
                prepare = _prepared if hasattr(connection, "pgconn") else _on_cursor
                run = kept.runs[sql] = prepare(connection, sql)
            return run(params)
    except peewee.DatabaseError:
        kept.connection = None
        raise


def _on_cursor(connection, sql: str):
    cursor = connection.cursor()

    def run(params):
        cursor.execute(sql, params)
        return cursor.fetchone()

    return run


_READ_PG = {16: b"t".__eq__, 20: int, 21: int, 23: int, 25: bytes.decode, 1043: bytes.decode}
"""How a text-format value of each column type (by oid) reads: bool, int8, int2, int4, text,
varchar (the types the account tables use; another type is a KeyError, not a wrong value)."""


def _prepared(connection, sql: str):
    from psycopg import OperationalError, pq

    pgconn = connection.pgconn
    name = f"flipdeck_{next(_names)}".encode()
    numbers = itertools.count(1)
    text = re.sub("%s", lambda _: f"${next(numbers)}", sql).encode()

    def checked(result):
        if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
            raise OperationalError(result.get_error_message() or "the query failed")
        return result

    def run(params):
        values = [p.encode() for p in params]
        result = pgconn.exec_prepared(name, values)
        if result.error_field(pq.DiagnosticField.SQLSTATE) == _NO_SUCH_STATEMENT:
            # psycopg sends DEALLOCATE ALL after every rollback, taking this statement too
            checked(pgconn.prepare(name, text))
            result = pgconn.exec_prepared(name, values)
        checked(result)
        if not result.ntuples:
            return None
        get, kind = result.get_value, result.ftype
        return tuple(
            None if (value := get(0, i)) is None else _READ_PG[kind(i)](value)
            for i in range(result.nfields)
        )

    checked(pgconn.prepare(name, text))
    return run


_NO_SUCH_STATEMENT = b"26000"  # invalid_sql_statement_name


def is_sqlite() -> bool:
    """Whether the bound database is SQLite."""
    return isinstance(database.obj, peewee.SqliteDatabase)


class ConnectionMiddleware:
    """A connection for each request that needs one (peewee connects on the first query; the
    state is per thread), given back to the pool when the response is done; ``/health`` never
    touches the database.

    Checking a connection out of the pool and back in cost more than the one query of an
    authenticated request, so the main thread, where a gunicorn sync worker serves every
    request, keeps its connection while requests follow each other closely. One idle for
    ``KEEP_FOR`` seconds goes back before the next request, whose checkout then has the pool
    test it (after a database restart that discards the dead one), and so does the connection
    of a request that failed, which may have been the connection's own fault. Other threads
    give theirs back every time: a server may end a thread after one request, and a thread
    that ended holding a connection would take it from the pool for good.
    """

    KEEP_FOR = PostgresPool.PING_AFTER

    def __init__(self) -> None:
        self._last_used = 0.0  # time.monotonic() when the main thread's last request ended

    def process_request(self, req, resp) -> None:
        db = database.obj
        if not db.is_closed() and time.monotonic() - self._last_used > self.KEEP_FOR:
            db.close()

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        db = database.obj
        if db.is_closed():
            return
        if (
            req_succeeded
            and not db.in_transaction()
            and threading.current_thread() is threading.main_thread()
        ):
            self._last_used = time.monotonic()
        else:
            db.close()

"""Sync fixtures: the real server app in-process (``httpx.WSGITransport``) and any number of
devices, each a real collection in its own directory with a clock the test controls.

The server runs on a fresh SQLite file; a test parametrized indirectly over ``server_url``
(``["sqlite", "postgresql"]``) also runs on PostgreSQL when ``FLIPDECK_TEST_DATABASE_URL`` is
set. :class:`Server` is a WSGI callable that forwards to the current app, so a test can restart
the server (a new ``create_app`` on the same database) under clients that keep their transport.
Every device talks through its own :class:`~tests.sync.faults.FaultyTransport`, so a test can
lose or repeat any one device's requests.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import httpx
import pytest

from tests.conftest import FakeClock
from tests.server.conftest import (
    FAST,
    LOOSE,
    SECRET,
    STRONG_PASSWORD,
    TABLES,
    SecondsClock,
    _migrate,
    postgres_url,  # noqa: F401  (a fixture this module's fixtures use)
)
from tests.sync.faults import FaultyTransport

BASE_URL = "http://flipdeck.test"
SYNC_TABLES = ("idempotency_key", "sync_change", "sync_head")


class Server:
    """The in-process server on one database; :meth:`restart` builds a new app on it, as a
    process restart would (nothing survives but the database)."""

    def __init__(self, url: str) -> None:
        from flipdeck.server.config import Config

        self.url = url
        # a clock the test controls: tokens never expire in the middle of a test
        self.config = Config(
            database_url=url,
            secret_key=SECRET,
            password=FAST,
            limits=LOOSE,
            clock=SecondsClock(),
            log_level="WARNING",
        )
        self.app = None
        self.restarts = -1
        self.restart()

    def restart(self) -> None:
        """Drop the running app and its connections; build a new one on the same database."""
        from flipdeck.server.app import create_app

        self._close_pool()
        self.app = create_app(self.config)
        self.restarts += 1

    def _close_pool(self) -> None:
        from flipdeck.server.db import database

        if self.app is not None and database.obj is not None:
            database.obj.close_all()

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)

    def transport(self) -> FaultyTransport:
        """A new transport to this server that can inject faults."""
        return FaultyTransport(httpx.WSGITransport(app=self), restart=self.restart)

    def clear_log(self) -> None:
        """Forget every user's sync log and idempotency keys (accounts stay)."""
        from flipdeck.server.db import database

        with database.connection_context():
            for table in SYNC_TABLES:
                database.execute_sql(f'DELETE FROM "{table}"')

    def count_changes(self) -> int:
        """How many changes the server's logs hold."""
        from flipdeck.server.db import database

        with database.connection_context():
            return database.execute_sql('SELECT count(*) FROM "sync_change"').fetchone()[0]

    def close(self) -> None:
        self._close_pool()


def make_server_url(backend: str, directory: Path, postgres: str | None) -> str:
    """A migrated, empty database for ``backend`` (``sqlite`` or ``postgresql``)."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'server.db'}"
        _migrate(url)
        return url
    if postgres is None:
        pytest.skip("FLIPDECK_TEST_DATABASE_URL is not set (CI sets it)")
    import psycopg

    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in TABLES) + " CASCADE")
    return postgres


@pytest.fixture
def server_url(request, tmp_path):
    """The server's database: SQLite unless the test parametrizes this fixture indirectly."""
    backend = getattr(request, "param", "sqlite")
    postgres = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    return make_server_url(backend, tmp_path, postgres)


@pytest.fixture
def server_app(server_url):
    """The server, built by ``create_app`` (a :class:`Server`, restartable)."""
    server = Server(server_url)
    yield server
    server.close()


class Device:
    """One installation: a collection, a signed-in client, its clock and its transport."""

    def __init__(self, name, col, client, clock, transport=None):
        self.name, self.col, self.client, self.clock = name, col, client, clock
        self.transport = transport

    def sync(self):
        from flipdeck.sync.engine import SyncEngine

        return SyncEngine(self.col, self.client).sync()


def open_collection(path: Path, clock: FakeClock):
    """A collection whose every clock is ``clock``: the injected ``now`` and also the hybrid
    logical clock's wall time (``Collection`` gives the latter the real wall clock, which a
    test of skewed devices must control)."""
    from flipdeck.store.collection import Collection

    col = Collection.open(path, now=clock)
    col.clock._wall = clock
    return col


def new_collection(path: Path, clock: FakeClock):
    """A fresh collection in UTC (the test's days then do not depend on the machine)."""
    from flipdeck.store import config

    path.parent.mkdir(parents=True, exist_ok=True)
    col = open_collection(path, clock)
    with col.transaction():
        config.set_value(col, "timezone", "UTC")
    return col


def copy_collection(source: Path, target: Path) -> None:
    """Copy a closed collection file (its WAL was checkpointed on close)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


@pytest.fixture
def devices(tmp_path, server_app):
    """A factory of signed-in devices sharing one account: ``devices(3)``; ``clock_start``
    (epoch ms) sets where each new device's clock starts."""
    from flipdeck.sync.client import ServerClient

    made = []
    counter = itertools.count()

    def make(count: int = 2, *, transport=None, clock_start=None):
        out = []
        for _ in range(count):
            n = next(counter)
            clock = FakeClock() if clock_start is None else FakeClock(clock_start)
            col = new_collection(tmp_path / f"device{n}" / "c.db", clock)
            faulty = None if transport is not None else server_app.transport()
            client = ServerClient(BASE_URL, transport=transport or faulty)
            if n == 0:
                client.register("alice", "alice@example.com", STRONG_PASSWORD, f"device{n}")
            else:
                client.login("alice", STRONG_PASSWORD, f"device{n}")
            device = Device(f"device{n}", col, client, clock, faulty)
            made.append(device)
            out.append(device)
        return out

    yield make
    for device in made:
        device.client.close()
        device.col.close()


def converge(devices, rounds: int = 2) -> None:
    """Every device syncs, in order, ``rounds`` times: with no faults, two rounds bring
    every change to every device (the first carries each device's changes to the log, the
    second brings everyone the changes of those after them)."""
    for _ in range(rounds):
        for device in devices:
            device.sync()


def assert_identical(devices) -> dict:
    """Every device's canonical dump equals the first's, and each cache is a fresh fold of
    its log; returns the common dump."""
    from flipdeck.store import reviews
    from tests.sync.dump import diff, dump

    first = dump(devices[0].col)
    for device in devices[1:]:
        other = dump(device.col)
        assert other == first, f"{devices[0].name} vs {device.name}:\n" + "\n".join(
            diff(first, other)
        )
    for device in devices:
        assert reviews.stale_cards(device.col) == [], device.name
    return first

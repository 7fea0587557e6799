"""Sync fixtures: the real server app in-process (``httpx.WSGITransport``) on a fresh SQLite
database, and any number of devices, each a real collection in its own directory."""

from __future__ import annotations

import itertools

import httpx
import pytest

from tests.conftest import FakeClock
from tests.server.conftest import FAST, LOOSE, SECRET, STRONG_PASSWORD, _migrate


@pytest.fixture
def server_app(tmp_path):
    """The server, built by ``create_app`` on a migrated SQLite file."""
    from flipdeck.server.app import create_app
    from flipdeck.server.config import Config

    url = f"sqlite:///{tmp_path / 'server.db'}"
    _migrate(url)
    return create_app(
        Config(database_url=url, secret_key=SECRET, password=FAST, limits=LOOSE,
               log_level="WARNING")
    )


class Device:
    """One installation: a collection and a signed-in client."""

    def __init__(self, name, col, client, clock):
        self.name, self.col, self.client, self.clock = name, col, client, clock

    def sync(self):
        from flipdeck.sync.engine import SyncEngine

        return SyncEngine(self.col, self.client).sync()


@pytest.fixture
def devices(tmp_path, server_app):
    """A factory of signed-in devices sharing one account: ``devices(3)``."""
    from flipdeck.store import config
    from flipdeck.store.collection import Collection
    from flipdeck.sync.client import ServerClient

    made = []
    counter = itertools.count()

    def make(count: int = 2, *, transport=None, clock_start=None):
        base = transport or httpx.WSGITransport(app=server_app)
        out = []
        for _ in range(count):
            n = next(counter)
            clock = FakeClock() if clock_start is None else FakeClock(clock_start)
            col = Collection.open(tmp_path / f"device{n}" / "c.db", now=clock) \
                if (tmp_path / f"device{n}").mkdir() is None else None
            with col.transaction():
                config.set_value(col, "timezone", "UTC")
            client = ServerClient("http://flipdeck.test", transport=base)
            if n == 0:
                client.register("alice", "alice@example.com", STRONG_PASSWORD, f"device{n}")
            else:
                client.login("alice", STRONG_PASSWORD, f"device{n}")
            device = Device(f"device{n}", col, client, clock)
            made.append(device)
            out.append(device)
        return out

    yield make
    for device in made:
        device.client.close()
        device.col.close()

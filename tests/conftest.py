"""Shared fixtures: every test is hermetic (its own FLIPDECK_HOME, no user editor or colour
settings, a clock it controls)."""

from __future__ import annotations

import pytest

INTERFERING = (
    "FLIPDECK_EDITOR",
    "VISUAL",
    "EDITOR",
    "NO_COLOR",
    "FORCE_COLOR",
    "FLIPDECK_NO_COLOR",
    "TZ",
    "COLUMNS",
    "LINES",
)

# 2025-12-01 12:00:00 UTC: tests start from a fixed instant, never from the wall clock.
NOON = 1_764_590_400_000


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="run long property runs too")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="long run; pass --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def hermetic(tmp_path, monkeypatch):
    """Point FLIPDECK_HOME at a fresh directory and hide the developer's settings."""
    home = tmp_path / "flipdeck-home"
    monkeypatch.setenv("FLIPDECK_HOME", str(home))
    for name in INTERFERING:
        monkeypatch.delenv(name, raising=False)
    return home


class FakeClock:
    """A controllable clock in epoch milliseconds."""

    def __init__(self, start: int = NOON) -> None:
        self.ms = start

    def __call__(self) -> int:
        return self.ms

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds=0):
        self.ms += int(((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000)
        return self.ms


@pytest.fixture
def clock() -> FakeClock:
    """A clock starting at 2025-12-01 12:00 UTC."""
    return FakeClock()


@pytest.fixture
def col(tmp_path, clock):
    """A fresh collection on disk in UTC with the default 04:00 rollover."""
    from flipdeck.store import config
    from flipdeck.store.collection import Collection

    collection = Collection.open(tmp_path / "collection.db", now=clock)
    with collection.transaction():
        config.set_value(collection, "timezone", "UTC")
    yield collection
    collection.close()

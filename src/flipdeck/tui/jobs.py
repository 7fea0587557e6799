"""Provides the work the TUI does off the event loop, in thread workers: each job opens its own
collection by path (SQLite objects are bound to the thread that made them) and returns plain
data, or reports through the callbacks it is given; none of them touches a widget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flipdeck.store.collection import Collection


def default_client(account):
    """The real client for a signed-in account; refreshed tokens are saved at once."""
    from flipdeck.sync import credentials
    from flipdeck.sync.client import ServerClient

    return ServerClient(account.server, account, on_tokens=credentials.save)


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def sync_status(path: Path, now: Callable[[], int] | None) -> dict:
    """What the sync screen shows without the network (as `flipdeck sync --status`)."""
    from flipdeck.sync import credentials
    from flipdeck.sync.engine import LAST_SYNC_KEY, pending

    account = credentials.load()  # a keyring may be slow: that is why this runs in a thread
    with Collection.open(path, now=now) as col:
        last = col.meta(LAST_SYNC_KEY)
        waiting = pending(col)
    return {
        "server": account.server if account else None,
        "account": account.username if account else None,
        "last_sync": _rfc3339(int(last)) if last else None,
        "pending_changes": waiting,
    }


def sync(
    path: Path,
    now: Callable[[], int] | None,
    client_factory: Callable[[Any], Any],
    progress: Callable[[str, int, int | None], None],
):
    """Sync the collection at ``path``; returns the engine's report. Raises ``AuthRequired``
    when nobody is signed in, and the sync client's errors otherwise."""
    from flipdeck.sync import credentials
    from flipdeck.sync.engine import SyncEngine
    from flipdeck.sync.errors import AuthRequired

    account = credentials.load()
    if account is None:
        raise AuthRequired("not signed in", hint="Sign in with `flipdeck login --server URL`.")
    with Collection.open(path, now=now) as col:
        client = client_factory(account)
        try:
            return SyncEngine(col, client, progress=progress).sync()
        finally:
            client.close()


def in_transaction(path: Path, now: Callable[[], int] | None, step: Callable[[Any], Any]):
    """Run ``step(col)`` in one transaction on a connection of its own: the browser's bulk
    actions, which on tens of thousands of cards take seconds the screen should not freeze
    for. Store errors propagate (and nothing is written)."""
    with Collection.open(path, now=now) as col, col.transaction():
        return step(col)


def find_cards(path: Path, now: Callable[[], int] | None, query: str, order: str) -> list[str]:
    """The browser's search (`search.find_cards`): ~250 ms for all of a 100k-card collection,
    which would freeze the screen if run on the event loop. Raises ``QueryError``."""
    from flipdeck.store import search

    with Collection.open(path, now=now) as col:
        return search.find_cards(col, query, now=col.now(), order=order)


@dataclass
class StatsData:
    """Everything the statistics screen draws, read in one go."""

    report: Any
    days: list = field(default_factory=list)
    retention: list = field(default_factory=list)
    states: dict = field(default_factory=dict)
    today: int = 0


def stats(path: Path, now: Callable[[], int] | None) -> StatsData:
    """The statistics screen's figures (a few hundred ms on a 100k-card collection)."""
    from flipdeck.store import config, history
    from flipdeck.store import stats as store_stats

    with Collection.open(path, now=now) as col:
        moment = col.now()
        return StatsData(
            report=store_stats.report(col, moment),
            days=history.daily_answers(col, 365, moment),
            retention=[history.retention(col, n, moment) for n in (1, 7, 30, 365)],
            states=history.state_counts(col, moment),
            today=config.calendar(col).day(moment),
        )

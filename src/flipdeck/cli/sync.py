"""Provides `flipdeck sync`: push this device's changes and pull everyone else's.

Exit 4 when not signed in or the server refuses the sign-in; exit 5 when the server cannot be
reached (nothing is lost: the changes stay queued and the next sync sends them). A progress bar
appears on stderr, on a terminal, only once a sync turns out to be large.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import collection
from flipdeck.cli.output import JsonOption

AUTO_CONNECT_TIMEOUT = 2.0
"""Seconds ``sync.auto`` waits for a connection before studying on without it."""

_NOTED: set[str] = set()


def _engine(col, progress=None, *, timeout=None):
    from flipdeck.sync import credentials
    from flipdeck.sync.client import TIMEOUT, ServerClient
    from flipdeck.sync.engine import SyncEngine
    from flipdeck.sync.errors import AuthRequired

    account = credentials.load()
    if account is None:
        raise AuthRequired(
            "not signed in", hint="Sign in with `flipdeck login --server URL` first."
        )
    client = ServerClient(
        account.server, account, on_tokens=credentials.save, timeout=timeout or TIMEOUT
    )
    return SyncEngine(col, client, progress=progress), client


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_of(col) -> dict:
    """What `sync --status` reports (no network)."""
    from flipdeck.sync import credentials
    from flipdeck.sync.engine import LAST_SYNC_KEY, pending

    account = credentials.load()
    last = col.meta(LAST_SYNC_KEY)
    return {
        "pending_changes": pending(col),
        "last_sync": _rfc3339(int(last)) if last else None,
        "server": account.server if account else None,
        "account": account.username if account else None,
    }


class _LazyBar:
    """A progress bar that only appears once the sync is large (more than one push batch or
    one pull page), so the everyday small sync draws nothing."""

    def __init__(self, push_batch: int, pull_page: int) -> None:
        self.push_batch, self.pull_page = push_batch, pull_page
        self.bar = None
        self.task = None

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self.bar is None:
            large = (total or 0) > self.push_batch if stage == "push" else done >= self.pull_page
            if not large:
                return
            self.bar = _progress()
            self.bar.start()
            self.task = self.bar.add_task("Syncing", total=None)
        label = "Sending" if stage == "push" else "Receiving"
        self.bar.update(self.task, description=label, completed=done, total=total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def sync(
    status: Annotated[
        bool,
        typer.Option(
            "--status", help="Show what is pending, and when this device last synced; no network."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Sync with the server: no full sync ever, nothing lost, any number of devices."""
    from flipdeck.sync.engine import PULL_PAGE, PUSH_BATCH

    with collection() as col:
        if status:
            data = status_of(col)
            if as_json:
                output.print_json(data)
            else:
                output.table(
                    ["", ""],
                    [[k.replace("_", " "), "–" if v is None else v] for k, v in data.items()],
                )
            return
        bar = _LazyBar(PUSH_BATCH, PULL_PAGE) if sys.stderr.isatty() and not as_json else None
        engine, client = _engine(col, bar)
        try:
            with client:
                report = engine.sync()
        finally:
            if bar is not None:
                bar.close()
    if as_json:
        output.print_json(report.to_json())
    else:
        output.info(report.summary())


def auto_sync(col, *, announce: bool = False) -> None:
    """Sync if ``sync.auto`` is on. Offline (or the server overloaded) it says nothing; a
    refused sign-in gets one line, since only the user can fix it. With ``announce``, a sync
    that moved something says so."""
    from flipdeck.cli.config import device_setting
    from flipdeck.sync.errors import AuthRequired, ServerUnavailable, SyncError

    if not device_setting(col, "sync.auto"):
        return
    import httpx

    try:
        engine, client = _engine(col, timeout=httpx.Timeout(30.0, connect=AUTO_CONNECT_TIMEOUT))
        with client:
            report = engine.sync()
    except ServerUnavailable:
        return
    except SyncError as error:
        note = f"note: not synced: {error.message}."
        if isinstance(error, AuthRequired) and error.hint:
            note += f" {error.hint}"
        if note not in _NOTED:  # a session syncs at its start and end: say it once
            _NOTED.add(note)
            output.info(note)
        return
    if announce and (report.pushed or report.pulled):
        output.info(f"Synced: {report.pushed} change(s) sent, {report.pulled} received.")


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=output.console(stderr=True),
        transient=True,
    )

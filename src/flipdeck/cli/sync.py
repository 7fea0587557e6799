"""Provides `flipdeck sync`: push this device's changes and pull everyone else's.

Exit 4 when not signed in or the server refuses the sign-in; exit 5 when the server cannot be
reached (nothing is lost: the changes stay queued and the next sync sends them).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import collection
from flipdeck.cli.output import JsonOption


def _engine(col, progress=None):
    from flipdeck.sync import credentials
    from flipdeck.sync.client import ServerClient
    from flipdeck.sync.engine import SyncEngine
    from flipdeck.sync.errors import AuthRequired

    account = credentials.load()
    if account is None:
        raise AuthRequired("not signed in",
                           hint="Sign in with `flipdeck login --server URL` first.")
    client = ServerClient(account.server, account, on_tokens=credentials.save)
    return SyncEngine(col, client, progress=progress), client


def sync(
    status: Annotated[bool, typer.Option("--status", help="Show what is pending, and "
                                         "when this device last synced; no network.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Sync with the server: no full sync ever, nothing lost, any number of devices."""
    from flipdeck.sync import credentials
    from flipdeck.sync.engine import LAST_SYNC_KEY, pending

    with collection() as col:
        if status:
            account = credentials.load()
            last = col.meta(LAST_SYNC_KEY)
            data = {
                "pending_changes": pending(col),
                "last_sync": datetime.fromtimestamp(int(last) / 1000, UTC).isoformat()
                .replace("+00:00", "Z") if last else None,
                "server": account.server if account else None,
                "account": account.username if account else None,
            }
            if as_json:
                output.print_json(data)
            else:
                output.table(["", ""], [[k, v] for k, v in data.items()])
            return
        bar = _progress() if sys.stderr.isatty() and not as_json else None
        if bar is not None:
            with bar:
                task = bar.add_task("Syncing", total=None)

                def progress(stage, done, total):
                    bar.update(task, description=f"Sync: {stage}", completed=done, total=total)

                engine, client = _engine(col, progress)
                with client:
                    report = engine.sync()
        else:
            engine, client = _engine(col)
            with client:
                report = engine.sync()
    if as_json:
        output.print_json(report.to_json())
    else:
        output.info(
            f"Synced: {report.pushed} change(s) sent, {report.pulled} received, "
            f"{report.merged} merged ({report.requests} request(s), "
            f"{report.duration_ms:.0f} ms)."
        )


def auto_sync(col) -> None:
    """Sync if ``sync.auto`` is on; say nothing when offline or signed out."""
    from flipdeck.cli.config import device_setting
    from flipdeck.core.errors import FlipdeckError

    if not device_setting(col, "sync.auto"):
        return
    try:
        engine, client = _engine(col)
        with client:
            engine.sync()
    except FlipdeckError:
        return


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    console=output.console(stderr=True), transient=True)

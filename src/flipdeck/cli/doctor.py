"""Provides `flipdeck doctor`: check the collection, and rebuild derived state from the log."""

from __future__ import annotations

from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import collection
from flipdeck.cli.output import JsonOption


def doctor(
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild", help="Re-fold every card's scheduling state from the review log."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the collection file and that every card's cached state matches its history."""
    import sys
    import time

    from flipdeck.store import reviews, schema

    with collection() as col:
        integrity = col.conn.execute("PRAGMA quick_check").fetchone()[0]
        report: dict = {
            "path": str(col.path),
            "schema": schema.LATEST,
            "integrity": integrity,
            "device_id": col.device_id,
            "pending_changes": col.conn.execute(
                "SELECT count(*) FROM changes WHERE pushed = 0"
            ).fetchone()[0],
        }
        if rebuild:
            started = time.perf_counter()
            progress = _progress() if sys.stderr.isatty() and not as_json else None
            if progress is not None:
                with progress as bar:
                    task = bar.add_task("Rebuilding", total=None)
                    count = reviews.rebuild(
                        col, lambda done, total: bar.update(task, completed=done, total=total)
                    )
            else:
                count = reviews.rebuild(col)
            report["rebuilt_cards"] = count
            report["rebuild_seconds"] = round(time.perf_counter() - started, 3)
        stale = reviews.stale_cards(col)
        report["stale_cards"] = len(stale)
    if as_json:
        output.print_json(report)
    else:
        output.table(["Check", "Result"], [[k, v] for k, v in report.items()])
    if integrity != "ok" or stale:
        if stale and not rebuild:
            output.info("Some cards' cached state is stale; run `flipdeck doctor --rebuild`.")
        raise SystemExit(output.EXIT_FAILED)


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=output.console(stderr=True),
        transient=True,
    )

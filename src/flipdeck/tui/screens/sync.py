"""Provides :class:`SyncScreen`: the server and account this device syncs with, when it last
synced, the changes waiting to be sent, and a sync that runs in a thread worker (the sync
engine on its own connection does the HTTP) while the interface stays live."""

from __future__ import annotations

from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, ProgressBar, Static

from flipdeck.core.errors import FlipdeckError
from flipdeck.tui import jobs
from flipdeck.tui.messages import (
    CollectionReplaced,
    StatusLoaded,
    SyncFailed,
    SyncFinished,
    SyncProgressed,
)
from flipdeck.tui.screens.base import FlipdeckScreen


class SyncScreen(FlipdeckScreen):
    """Sync status and the sync action."""

    MODE = "sync"
    HELP = (
        "Sync sends this device's changes and receives everyone else's; nothing is ever "
        "overwritten wholesale. Sign in first with `flipdeck login --server URL`. Offline, "
        "changes wait here and go with the next sync."
    )
    BINDINGS = [Binding("s", "sync", "Sync now", id="sync.run")]

    def __init__(self) -> None:
        super().__init__()
        self.running = False

    def compose_body(self) -> ComposeResult:
        with Vertical(id="sync"):
            yield Static("Reading the sync status…", id="sync-status")
            with Horizontal(id="sync-actions"):
                yield Button("Sync now (s)", variant="primary", id="sync-button")
                yield ProgressBar(id="sync-progress", show_eta=False)
            yield Static(id="sync-result")

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False

    def on_screen_resume(self) -> None:
        """Shown (the first time too): read the status afresh."""
        self.load_status()

    def on_collection_replaced(self, _message: CollectionReplaced) -> None:
        self.load_status()

    @work(thread=True, exclusive=True, group="sync-status")
    def load_status(self) -> None:
        status = jobs.sync_status(self.app.path, self.app.now)
        self.post_message(StatusLoaded(status))

    def on_status_loaded(self, message: StatusLoaded) -> None:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        labels = {
            "server": "Server",
            "account": "Account",
            "last_sync": "Last sync",
            "pending_changes": "Pending changes",
        }
        for key, label in labels.items():
            value = message.status.get(key)
            table.add_row(label, "–" if value is None else str(value))
        if message.status.get("account") is None:
            table.add_row("", "Not signed in: run `flipdeck login --server URL` in a shell.")
        self.query_one("#sync-status", Static).update(table)

    # -- syncing ------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "sync-button":
            self.action_sync()

    def action_sync(self) -> None:
        if self.running:
            return
        self.running = True
        self.query_one("#sync-button", Button).disabled = True
        bar = self.query_one(ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self.query_one("#sync-result", Static).update("Syncing…")
        self.run_sync()

    @work(thread=True, exclusive=True, group="sync")
    def run_sync(self) -> None:
        def progress(stage: str, done: int, total: int | None) -> None:
            self.post_message(SyncProgressed(stage, done, total))

        try:
            report = jobs.sync(self.app.path, self.app.now, self.app.client_factory, progress)
        except FlipdeckError as error:
            self.post_message(SyncFailed(error.message, error.hint))
            return
        except Exception as error:  # a bug or an odd network failure: say it, keep running
            self.post_message(SyncFailed(f"the sync stopped: {error}", None))
            return
        self.post_message(SyncFinished(report))

    def on_sync_progressed(self, message: SyncProgressed) -> None:
        label = "Sending" if message.stage == "push" else "Receiving"
        self.query_one(ProgressBar).update(total=message.total, progress=message.done)
        self.query_one("#sync-result", Static).update(f"{label}… {message.done}")

    def on_sync_finished(self, message: SyncFinished) -> None:
        self._stopped()
        self.query_one("#sync-result", Static).update(message.report.summary())
        self.app.reopen()

    def on_sync_failed(self, message: SyncFailed) -> None:
        self._stopped()
        text = f"Not synced: {message.message}." + (f"\n{message.hint}" if message.hint else "")
        self.query_one("#sync-result", Static).update(text)
        self.notify(text, severity="error", title="Sync")
        self.load_status()

    def _stopped(self) -> None:
        self.running = False
        self.query_one("#sync-button", Button).disabled = False
        self.query_one(ProgressBar).display = False

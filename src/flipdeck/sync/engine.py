"""Provides :class:`SyncEngine`: push the outbox, pull everyone else's changes, merge them.

* **Push** sends the outbox oldest first, in batches; the batch's ``Idempotency-Key`` is derived
  from its change ids, so a retry after a lost response is the same request, and the server
  stores each change id once anyway. A batch is marked pushed only after the server answered,
  in its own transaction: a crash in between re-sends that one batch, harmlessly.
* **Pull** asks for changes after the saved cursor; each page is merged and the new cursor
  saved in one transaction, so a sync killed at any point resumes where it stopped.
* A device with nothing to send makes no push request: an idle sync is one small pull.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from flipdeck.protocol import messages
from flipdeck.store import inbox
from flipdeck.sync.client import ServerClient

PUSH_BATCH = 2000
PULL_PAGE = 5000
CURSOR_KEY = "sync.cursor"
LAST_SYNC_KEY = "sync.last"


@dataclass
class SyncReport:
    """What one sync did (``flipdeck sync --json``)."""

    pushed: int = 0
    pushed_duplicates: int = 0
    pulled: int = 0
    merged: int = 0
    reviews_added: int = 0
    kept_unknown: int = 0
    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    duration_ms: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def pending(col) -> int:
    """Changes waiting to be pushed."""
    return col.conn.execute("SELECT count(*) FROM changes WHERE pushed = 0").fetchone()[0]


def _meta_set(col, key: str, value: str) -> None:
    col.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))


class SyncEngine:
    """Syncs one collection with one server account."""

    def __init__(
        self,
        col,
        client: ServerClient,
        *,
        push_batch: int = PUSH_BATCH,
        pull_page: int = PULL_PAGE,
        progress: Callable[[str, int, int | None], None] | None = None,
    ) -> None:
        self.col = col
        self.client = client
        self.push_batch = push_batch
        self.pull_page = pull_page
        self.progress = progress or (lambda stage, done, total: None)

    def sync(self) -> SyncReport:
        """Push, then pull until nothing remains."""
        started = time.perf_counter()
        requests, sent, received = (
            self.client.requests,
            self.client.bytes_sent,
            self.client.bytes_received,
        )
        report = SyncReport()
        self._push(report)
        self._pull(report)
        with self.col.transaction():
            _meta_set(self.col, LAST_SYNC_KEY, str(self.col.now()))
        report.requests = self.client.requests - requests
        report.bytes_sent = self.client.bytes_sent - sent
        report.bytes_received = self.client.bytes_received - received
        report.duration_ms = round((time.perf_counter() - started) * 1000, 2)
        return report

    def _push(self, report: SyncReport) -> None:
        col = self.col
        total = pending(col)
        done = 0
        while True:
            rows = col.conn.execute(
                "SELECT seq, id, entity, row_id, hlc, data FROM changes WHERE pushed = 0"
                " ORDER BY seq LIMIT ?",
                (self.push_batch,),
            ).fetchall()
            if not rows:
                return
            changes = [
                messages.Change(id=r[1], entity=r[2], row=r[3], hlc=r[4], data=json.loads(r[5]))
                for r in rows
            ]
            key = (
                "push-"
                + hashlib.sha256(
                    "\x1f".join([col.device_id, rows[0][1], rows[-1][1], str(len(rows))]).encode()
                ).hexdigest()[:40]
            )
            result = self.client.push(messages.PushRequest(col.device_id, changes), key)
            with col.transaction():
                col.conn.execute(
                    "UPDATE changes SET pushed = 1 WHERE pushed = 0 AND seq <= ?", (rows[-1][0],)
                )
            report.pushed += result.accepted
            report.pushed_duplicates += result.duplicates
            done += len(rows)
            self.progress("push", done, total)

    def _pull(self, report: SyncReport) -> None:
        col = self.col
        while True:
            cursor = int(col.meta(CURSOR_KEY) or 0)
            page = self.client.pull(cursor, col.device_id, self.pull_page)
            incoming = [
                inbox.Incoming(
                    c.change.id, c.change.entity, c.change.row, c.change.hlc, c.change.data
                )
                for c in page.changes
            ]
            with col.transaction():
                applied = inbox.apply(col, incoming)
                _meta_set(col, CURSOR_KEY, str(page.cursor))
            report.pulled += applied.received
            report.merged += applied.merged
            report.reviews_added += applied.reviews_added
            report.kept_unknown += applied.kept_unknown
            self.progress("pull", report.pulled, None)
            if not page.more:
                return

"""Provides :class:`SyncEngine`: push the outbox, pull everyone else's changes, merge them.

* **Push** sends the outbox oldest first, in batches; the batch's ``Idempotency-Key`` is derived
  from its change ids, so a retry after a lost response is the same request, and the server
  stores each change id once anyway. A batch is marked pushed only after the server answered,
  in its own transaction: a crash in between re-sends that one batch, harmlessly.
* **Pull** asks for changes after the saved cursor; each page is merged and the new cursor
  saved in one transaction, so a sync killed at any point resumes where it stopped.
* A device with nothing to send makes no push request: an idle sync is one small pull.

Speed (issue 4's figures): a batch's body is spliced from the outbox's stored JSON; the next
batch is read and encoded while the server stores the current one, and the next page fetched
while the current one is merged (one worker thread for the request in flight; the collection
is only ever used by the calling thread). The server leaves a device's own changes out of its
pulls, so a first sync does not read back everything it just sent.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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

    def summary(self) -> str:
        """One line saying what the sync did, as `flipdeck sync` and the TUI print it."""
        if not (self.pushed or self.pushed_duplicates or self.pulled):
            return f"Up to date ({self.requests} request(s), {self.duration_ms:.0f} ms)."
        extra = f", {self.reviews_added} review(s) added" if self.reviews_added else ""
        return (
            f"Synced: {self.pushed} change(s) sent, {self.pulled} received, "
            f"{self.merged} merged{extra} ({self.requests} request(s), "
            f"{self.duration_ms:.0f} ms)."
        )

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
        """Send the outbox in batches, each marked pushed once the server has answered it.

        While the server works on a full batch, the next one is read and encoded (the request
        waits in a worker thread; the collection is used by this thread only): that preparing
        costs the client about a quarter of a batch's time. The next batch is sent only after
        this one is marked, so at most one batch is ever unacknowledged.
        """
        col = self.col
        total = pending(col)
        done = 0
        batch = self._batch(after=0)
        with _Worker() as worker:
            while batch is not None:
                rows, (body, encoding), key = batch
                if len(rows) < self.push_batch:  # the last one: nothing to prepare meanwhile
                    result, batch = self.client.push_body(body, key, encoding), None
                else:
                    sending = worker.submit(self.client.push_body, body, key, encoding)
                    batch = self._batch(after=rows[-1][0])
                    result = sending.result()
                with col.transaction():
                    col.conn.execute(
                        "UPDATE changes SET pushed = 1 WHERE pushed = 0 AND seq <= ?",
                        (rows[-1][0],),
                    )
                report.pushed += result.accepted
                report.pushed_duplicates += result.duplicates
                done += len(rows)
                self.progress("push", done, total)

    def _batch(self, after: int) -> tuple[list, tuple[bytes, str | None], str] | None:
        """The next batch of the outbox after position ``after``: its rows, the push body as
        it travels with its content coding, and its ``Idempotency-Key`` (derived from the
        batch, so a retry is the same request)."""
        col = self.col
        rows = col.conn.execute(
            "SELECT seq, id, entity, row_id, hlc, data FROM changes WHERE pushed = 0"
            " AND seq > ? ORDER BY seq LIMIT ?",
            (after, self.push_batch),
        ).fetchall()
        if not rows:
            return None
        key = (
            "push-"
            + hashlib.sha256(
                "\x1f".join([col.device_id, rows[0][1], rows[-1][1], str(len(rows))]).encode()
            ).hexdigest()[:40]
        )
        # the outbox's stored JSON goes out as it is: the same rows make the same bytes on
        # every retry
        body = messages.encode_push_json(col.device_id, (r[1:] for r in rows))
        return rows, self.client.push_payload(body), key

    def _pull(self, report: SyncReport) -> None:
        """Pull pages until the log is exhausted, each merged and its cursor saved in one
        transaction. While a page is merged, the next one is already being fetched (its cursor
        is known from the page): the server's time and the transfer overlap the merge. A page
        fetched but not merged (a crash, an error) is simply asked for again next time."""
        col = self.col
        page = self.client.pull(int(col.meta(CURSOR_KEY) or 0), col.device_id, self.pull_page)
        with _Worker() as worker:
            while True:
                following = (
                    worker.submit(self.client.pull, page.cursor, col.device_id, self.pull_page)
                    if page.more
                    else None
                )
                with col.transaction():
                    applied = inbox.apply(col, [c.change for c in page.changes])
                    _meta_set(col, CURSOR_KEY, str(page.cursor))
                report.pulled += applied.received
                report.merged += applied.merged
                report.reviews_added += applied.reviews_added
                report.kept_unknown += applied.kept_unknown
                self.progress("pull", report.pulled, None)
                if following is None:
                    return
                page = following.result()


class _Worker:
    """One background thread for the request in flight, started only when first needed (an
    idle sync starts none)."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, fn, *args) -> Future:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="flipdeck-sync")
        return self._pool.submit(fn, *args)

    def __enter__(self) -> _Worker:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

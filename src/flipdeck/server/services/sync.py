"""Provides each user's sync log: pushes append, pulls page through it by position.

A push appends the changes the log does not have yet (a change id is stored at most once, so a
retried or replayed batch is harmless) under a lock on the user's log head, so positions are
assigned, and become visible, strictly in order — a pull never skips a change that commits
later with a smaller position. Changes are relayed as the device sent them, whatever their
kind.
"""

from __future__ import annotations

import hashlib
import json

from flipdeck.protocol import messages
from flipdeck.server.db import database, is_sqlite
from flipdeck.server.models import SyncHead

_CHUNK = 400  # ids per IN (…): below every database's parameter limit
_INSERT = (
    'INSERT INTO "sync_change"'
    " (user_id, seq, change_id, device, entity, row_id, hlc, data, received_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``, without building an
encoder for every change."""


def _lock_head(user_id: str) -> SyncHead:
    """The user's log head, locked until the transaction ends."""
    SyncHead.insert(user=user_id, seq=0).on_conflict_ignore().execute()
    query = SyncHead.select().where(SyncHead.user == user_id)
    if not is_sqlite():  # SQLite's BEGIN IMMEDIATE already serialises writers
        query = query.for_update()
    return query.get()


def encode_data(request: messages.PushRequest) -> list[str]:
    """Each change's data as the log stores it (compact JSON, keys in the order sent)."""
    return [_encode(c.data) for c in request.changes]


def fingerprint(request: messages.PushRequest, texts: list[str]) -> str:
    """SHA-256 of what a push says, for its ``Idempotency-Key``: the same changes are the same
    request however the body was spaced (a client re-encodes a batch on every retry, and its
    encoding may change with an upgrade in between). Built from the data texts the log stores
    anyway; canonicalising megabytes of JSON cost a quarter of a push. Ids, entities and stamps
    cannot hold the separators, and JSON text holds no raw control characters."""
    parts = [f"{request.protocol}\x1f{request.device}"]
    parts.extend(
        f"{c.id}\x1f{c.entity}\x1f{c.row}\x1f{c.hlc}\x1f{text}"
        for c, text in zip(request.changes, texts, strict=True)
    )
    digest = hashlib.sha256("\x1e".join(parts).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def push(
    user_id: str, request: messages.PushRequest, now: int, texts: list[str] | None = None
) -> messages.PushResponse:
    """Append a device's changes (inside the caller's transaction); ``texts`` are their data
    as :func:`encode_data` gives it, when the caller has it already.

    The rows go in through the driver's ``executemany`` with SQL written once: building a
    peewee insert for 2,000 changes cost more than everything else a push does together.
    """
    if texts is None:
        texts = encode_data(request)
    head = _lock_head(user_id)
    ids = [c.id for c in request.changes]
    known: set[str] = set()
    p = database.param
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        known.update(
            r[0]
            for r in database.execute_sql(
                f'SELECT change_id FROM "sync_change" WHERE user_id = {p}'
                f" AND change_id IN ({', '.join([p] * len(chunk))})",
                (user_id, *chunk),
            )
        )
    rows = []
    seq = head.seq
    device = request.device
    for change, text in zip(request.changes, texts, strict=True):
        if change.id in known:
            continue
        known.add(change.id)  # a change repeated inside one batch is stored once
        seq += 1
        rows.append(
            (
                user_id,
                seq,
                change.id,
                device,
                change.entity,
                change.row,
                change.hlc,
                text,
                now,
            )
        )
    if rows:
        database.cursor().executemany(_INSERT.replace("?", p), rows)
        SyncHead.update(seq=seq).where(SyncHead.user == user_id).execute()
    return messages.PushResponse(len(rows), len(ids) - len(rows), seq)


def pull(user_id: str, after: int, device: str, limit: int) -> bytes:
    """The page after ``after`` as the pull response body, built from the stored JSON without
    re-encoding it.

    The device's own changes are left out by the query, so a device reads past what it pushed
    itself without receiving it. The head is read *before* the page: every change up to a head
    that is visible has committed (a push assigns positions and moves the head under the head
    lock, in one transaction), so when the page is not full, nothing between its last change
    and that head is anyone else's, and the cursor moves to the head. Read the other way round
    (page, then head) a push committing in between would be skipped.
    """
    p = database.param
    row = database.execute_sql(
        f'SELECT seq FROM "sync_head" WHERE user_id = {p}', (user_id,)
    ).fetchone()
    head_seq = row[0] if row else 0
    rows = database.execute_sql(
        'SELECT seq, device, change_id, entity, row_id, hlc, data FROM "sync_change"'
        f" WHERE user_id = {p} AND seq > {p} AND seq <= {p} AND device <> {p}"
        f" ORDER BY seq LIMIT {p}",
        (user_id, after, head_seq, device, limit + 1),
    ).fetchall()
    more = len(rows) > limit  # one more than asked for tells, so no empty page follows a full one
    del rows[limit:]
    # not full: the page holds every other device's change up to the head; a device ahead of
    # the log (the server was restored from a backup) is sent back to the head and starts over
    cursor = rows[-1][0] if more else head_seq
    dumps = messages.encode_string
    items = [
        f'{{"seq":{seq},"device":{dumps(dev)},"id":{dumps(cid)},"entity":{dumps(entity)},'
        f'"row":{dumps(row)},"hlc":{dumps(hlc)},"data":{data}}}'
        for seq, dev, cid, entity, row, hlc, data in rows
    ]
    body = (
        f'{{"changes":[{",".join(items)}],"cursor":{cursor},"more":{"true" if more else "false"}}}'
    )
    return body.encode("utf-8")


def head(user_id: str) -> int:
    """The position of the user's latest change."""
    row = SyncHead.get_or_none(SyncHead.user == user_id)
    return row.seq if row else 0

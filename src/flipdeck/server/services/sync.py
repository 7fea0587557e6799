"""Provides each user's sync log: pushes append, pulls page through it by position.

A push appends the changes the log does not have yet (a change id is stored at most once, so a
retried or replayed batch is harmless) under a lock on the user's log head, so positions are
assigned, and become visible, strictly in order — a pull never skips a change that commits
later with a smaller position. Changes are relayed as the device sent them, whatever their
kind.
"""

from __future__ import annotations

import json

from flipdeck.protocol import messages
from flipdeck.server.db import is_sqlite
from flipdeck.server.models import SyncChange, SyncHead

_CHUNK = 400  # rows per INSERT / ids per IN (…): below every database's parameter limit


def _lock_head(user_id: str) -> SyncHead:
    """The user's log head, locked until the transaction ends."""
    SyncHead.insert(user=user_id, seq=0).on_conflict_ignore().execute()
    query = SyncHead.select().where(SyncHead.user == user_id)
    if not is_sqlite():  # SQLite's BEGIN IMMEDIATE already serialises writers
        query = query.for_update()
    return query.get()


def push(user_id: str, request: messages.PushRequest, now: int) -> messages.PushResponse:
    """Append a device's changes (inside the caller's transaction)."""
    head = _lock_head(user_id)
    ids = [c.id for c in request.changes]
    known: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        known.update(
            r[0]
            for r in SyncChange.select(SyncChange.change_id)
            .where((SyncChange.user == user_id) & SyncChange.change_id.in_(chunk))
            .tuples()
        )
    rows = []
    seq = head.seq
    for change in request.changes:
        if change.id in known:
            continue
        known.add(change.id)  # a change repeated inside one batch is stored once
        seq += 1
        rows.append(
            (
                user_id,
                seq,
                change.id,
                request.device,
                change.entity,
                change.row,
                change.hlc,
                json.dumps(change.data, separators=(",", ":"), ensure_ascii=False),
                now,
            )
        )
    fields = [
        SyncChange.user,
        SyncChange.seq,
        SyncChange.change_id,
        SyncChange.device,
        SyncChange.entity,
        SyncChange.row_id,
        SyncChange.hlc,
        SyncChange.data,
        SyncChange.received_at,
    ]
    for start in range(0, len(rows), _CHUNK // 10):
        SyncChange.insert_many(rows[start : start + _CHUNK // 10], fields=fields).execute()
    if rows:
        SyncHead.update(seq=seq).where(SyncHead.user == user_id).execute()
    return messages.PushResponse(len(rows), len(ids) - len(rows), seq)


def pull(user_id: str, after: int, device: str, limit: int) -> bytes:
    """The page after ``after`` as the pull response body (the device's own changes left
    out), built from the stored JSON without re-encoding it."""
    rows = list(
        SyncChange.select(
            SyncChange.seq,
            SyncChange.device,
            SyncChange.change_id,
            SyncChange.entity,
            SyncChange.row_id,
            SyncChange.hlc,
            SyncChange.data,
        )
        .where((SyncChange.user == user_id) & (SyncChange.seq > after))
        .order_by(SyncChange.seq)
        .limit(limit)
        .tuples()
    )
    if rows:
        cursor = rows[-1][0]
    else:
        head = SyncHead.get_or_none(SyncHead.user == user_id)
        # a device ahead of the log (the server was restored from a backup) starts over
        cursor = min(after, head.seq if head else 0)
    dumps = json.dumps
    items = [
        f'{{"seq":{seq},"device":{dumps(dev)},"id":{dumps(cid)},"entity":{dumps(entity)},'
        f'"row":{dumps(row)},"hlc":{dumps(hlc)},"data":{data}}}'
        for seq, dev, cid, entity, row, hlc, data in rows
        if dev != device
    ]
    more = len(rows) == limit
    body = (
        f'{{"changes":[{",".join(items)}],"cursor":{cursor},"more":{"true" if more else "false"}}}'
    )
    return body.encode("utf-8")


def head(user_id: str) -> int:
    """The position of the user's latest change."""
    row = SyncHead.get_or_none(SyncHead.user == user_id)
    return row.seq if row else 0

"""Provides row identities: time-ordered UUIDv7 ids and deterministic derived ids.

UUIDv7 (RFC 9562) sorts by creation time, so notes added in a row keep their order everywhere.
Derived ids exist for rows that several devices may create independently and must agree on
(the cards of a note, the stock note types, the default preset): the same inputs give the same
id on every device, so two offline devices never create two copies of one card.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_seq = 0
_pool = ""  # random hex digits, drawn 16 at a time: one system call per 4,096 ids
_at = 0
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def _forget_pool() -> None:
    """A forked process (a gunicorn worker) must not reuse its parent's random digits."""
    global _pool, _at
    _pool, _at = "", 0


os.register_at_fork(after_in_child=_forget_pool)


def uuid7() -> str:
    """A new UUIDv7 as a string; ids made in one process are strictly increasing.

    Within one millisecond the 12-bit ``rand_a`` field is a counter (RFC 9562 §6.2, method 1),
    seeded randomly each millisecond, so bulk inserts keep their order. Built as a string from
    pooled randomness because imports make hundreds of thousands of them: a system call and a
    ``uuid.UUID`` per id cost more than inserting the row.
    """
    global _last_ms, _seq, _pool, _at
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _seq = int.from_bytes(os.urandom(2), "big") & 0x07FF
        else:
            _seq += 1
            if _seq > 0x0FFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _seq = 0
        if _at + 16 > len(_pool):
            _pool, _at = os.urandom(8 * 4096).hex(), 0
        r = _pool[_at : _at + 16]
        _at += 16
        m = f"{_last_ms:012x}"
        seq = _seq
    # version 7, then the RFC 9562 variant (10xx) in the top bits of the random part
    return f"{m[:8]}-{m[8:]}-7{seq:03x}-{_VARIANT[r[0]]}{r[1:4]}-{r[4:]}"


def uuid7_ms(value: str) -> int:
    """The creation time, in epoch milliseconds, recorded in a UUIDv7 string."""
    return uuid.UUID(value).int >> 80


def derived_id(*parts: str) -> str:
    """A deterministic UUIDv8 from ``parts``: the same parts give the same id on every device."""
    digest = bytearray(
        hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x80  # version 8
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 9562 variant
    return str(uuid.UUID(bytes=bytes(digest)))

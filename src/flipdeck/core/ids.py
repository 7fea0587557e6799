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


def uuid7() -> str:
    """A new UUIDv7 as a string; ids made in one process are strictly increasing.

    Within one millisecond the 12-bit ``rand_a`` field is a counter (RFC 9562 §6.2, method 1),
    seeded randomly each millisecond, so bulk inserts keep their order.
    """
    global _last_ms, _seq
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
            ms = _last_ms
        rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (ms << 80) | (0x7 << 76) | (_seq << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


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

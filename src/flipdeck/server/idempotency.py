"""Provides ``Idempotency-Key`` handling (security.md rules 28–29).

The key row is claimed by a unique insert in the same transaction as the request's effects and
completed with its response, so a retry either replays the stored response byte for byte
(``Idempotent-Replayed: true``) or — with another body — is refused; a request is never applied
twice, even when two copies race.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import peewee

from flipdeck.server.db import database
from flipdeck.server.errors import ApiError
from flipdeck.server.models import IdempotencyKey

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Outcome:
    """A response to send: fresh, or replayed from the key's record."""

    status: int
    body: str
    replayed: bool


def key_of(req) -> str:
    """The request's key, or 400 when it is missing or malformed."""
    key = req.get_header("Idempotency-Key")
    if key is None:
        raise ApiError(
            "idempotency_key_missing",
            "Send an Idempotency-Key header (1–255 printable ASCII characters), the same on "
            "every retry of this request.",
        )
    if not _KEY.match(key):
        raise ApiError("invalid_request", "Idempotency-Key must be 1–255 printable ASCII.")
    return key


def fingerprint(body) -> str:
    """SHA-256 of the canonical JSON of a parsed body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def run(
    user_id: str,
    route: str,
    key: str,
    print_: str,
    now: int,
    work: Callable[[], tuple[int, str]],
    *,
    equivalent: Callable[[], str] | None = None,
) -> Outcome:
    """Do ``work`` once for this (user, route, key); replay its response ever after.

    ``equivalent``, when given, computes another fingerprint of the same body: the canonical
    one (:func:`fingerprint`) for a route that fingerprints its bodies in a cheaper way of its
    own, since keys stored before it did carry that one. A stored key that differs from
    ``print_`` but equals it is the same request, not a reuse.
    """
    for _attempt in range(2):
        try:
            with database.atomic():
                stored = _stored(user_id, route, key, print_, equivalent)
                if stored is not None:
                    return stored
                IdempotencyKey.insert(
                    user=user_id, route=route, key=key, fingerprint=print_, created_at=now
                ).execute()
                status, body = work()
                IdempotencyKey.update(status=status, body=body).where(
                    (IdempotencyKey.user == user_id)
                    & (IdempotencyKey.route == route)
                    & (IdempotencyKey.key == key)
                ).execute()
                return Outcome(status, body, False)
        except peewee.IntegrityError:
            continue  # a concurrent copy claimed the key first: replay what it stored
    stored = _stored(user_id, route, key, print_, equivalent)
    if stored is None:
        raise ApiError("idempotency_key_in_use", "A request with this key is still running.")
    return stored


def _stored(
    user_id: str, route: str, key: str, print_: str, equivalent: Callable[[], str] | None
) -> Outcome | None:
    row = IdempotencyKey.get_or_none(
        (IdempotencyKey.user == user_id)
        & (IdempotencyKey.route == route)
        & (IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.fingerprint != print_ and (equivalent is None or row.fingerprint != equivalent()):
        raise ApiError(
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different body; use a new key.",
        )
    if row.status is None:
        raise ApiError("idempotency_key_in_use", "A request with this key is still running.")
    return Outcome(row.status, row.body or "", True)


def purge(now: int) -> int:
    """Forget keys older than a day."""
    return IdempotencyKey.delete().where(IdempotencyKey.created_at < now - KEEP_SECONDS).execute()

"""Provides fixed-window counters shared by every worker and host: in the database (one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per hit, atomic on SQLite and PostgreSQL) or in
Redis (``INCR`` + ``EXPIRE``) when ``FLIPDECK_REDIS_URL`` is set.

A read-then-write counter would let concurrent requests through (DRF's throttle race); an
atomic increment that returns the new count cannot.
"""

from __future__ import annotations

from dataclasses import dataclass

from flipdeck.server.db import database
from flipdeck.server.models import RateWindow


@dataclass(frozen=True)
class Hit:
    """The count after a hit and when its window ends (epoch seconds)."""

    count: int
    resets_at: int


class DatabaseCounter:
    """Counters in the ``rate_window`` table."""

    def hit(self, key: str, window: int, now: float, amount: int = 1) -> Hit:
        start = int(now) // window * window
        with database.atomic():
            cursor = (
                RateWindow.insert(key=key, window=start, count=amount, expires_at=start + window)
                .on_conflict(
                    conflict_target=[RateWindow.key, RateWindow.window],
                    update={RateWindow.count: RateWindow.count + amount},
                )
                .returning(RateWindow.count)
                .tuples()
                .execute()
            )
            count = next(iter(cursor))[0]
        return Hit(int(count), start + window)

    def peek(self, key: str, window: int, now: float) -> Hit:
        start = int(now) // window * window
        row = RateWindow.get_or_none(key=key, window=start)
        return Hit(row.count if row else 0, start + window)

    def purge(self, now: float) -> int:
        return RateWindow.delete().where(RateWindow.expires_at <= int(now)).execute()


class RedisCounter:
    """Counters in Redis, for deployments that have it."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def hit(self, key: str, window: int, now: float, amount: int = 1) -> Hit:
        start = int(now) // window * window
        name = f"flipdeck:rate:{key}:{start}"
        pipe = self._redis.pipeline()
        pipe.incrby(name, amount)
        pipe.expire(name, window + 60)
        count, _ = pipe.execute()
        return Hit(int(count), start + window)

    def peek(self, key: str, window: int, now: float) -> Hit:
        start = int(now) // window * window
        value = self._redis.get(f"flipdeck:rate:{key}:{start}")
        return Hit(int(value or 0), start + window)

    def purge(self, now: float) -> int:
        return 0  # keys expire by themselves


def counter(redis_url: str | None):
    """The counter store the configuration asks for."""
    return RedisCounter(redis_url) if redis_url else DatabaseCounter()

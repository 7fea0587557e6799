"""Provides fixed-window counters shared by every worker and host: in the database (one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per hit, atomic on SQLite and PostgreSQL) or in
Redis (``INCR`` + ``EXPIRE``) when ``FLIPDECK_REDIS_URL`` is set.

A read-then-write counter would let concurrent requests through (DRF's throttle race); an
atomic increment that returns the new count cannot.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from flipdeck.server.db import database
from flipdeck.server.errors import ApiError
from flipdeck.server.models import RateWindow


def address_key(ip: str) -> str:
    """The budget an address spends: an IPv6 client is its /64 (one subscriber's prefix, so
    rotating addresses within it buys nothing), an IPv4-mapped one its IPv4 address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass(frozen=True)
class Hit:
    """The count after a hit and when its window ends (epoch seconds)."""

    count: int
    resets_at: int


class DatabaseCounter:
    """Counters in the ``rate_window`` table."""

    def __init__(self) -> None:
        self._sql: dict[type, str] = {}  # by database class: placeholders and quoting

    def hit(self, key: str, window: int, now: float, amount: int = 1) -> Hit:
        start = int(now) // window * window
        # one statement, atomic by itself: no BEGIN and COMMIT round trips around it (outside
        # a transaction it commits on its own; inside one it is part of it). fetchall: the
        # statement only completes, and commits, once its RETURNING row has been read.
        count = database.execute_sql(
            self._hit_sql(), (key, start, amount, start + window, amount)
        ).fetchall()[0][0]
        return Hit(int(count), start + window)

    def _hit_sql(self) -> str:
        """The upsert's SQL, built once per database (it runs on every request)."""
        db = database.obj
        sql = self._sql.get(type(db))
        if sql is None:
            query = (
                RateWindow.insert(key="k", window=0, count=1, expires_at=0)
                .on_conflict(
                    conflict_target=[RateWindow.key, RateWindow.window],
                    update={RateWindow.count: RateWindow.count + 1},
                )
                .returning(RateWindow.count)
            )
            sql, params = query.sql()
            assert len(params) == 5, params  # key, window, count, expires_at, increment
            sql = self._sql[type(db)] = sql
        return sql

    def peek(self, key: str, window: int, now: float) -> Hit:
        start = int(now) // window * window
        row = RateWindow.get_or_none(key=key, window=start)
        return Hit(row.count if row else 0, start + window)

    def purge(self, now: float) -> int:
        return RateWindow.delete().where(RateWindow.expires_at <= int(now)).execute()


class RedisCounter:
    """Counters in Redis, for deployments that have it. When Redis cannot be reached the
    request fails closed with 503 ``service_unavailable`` (never unlimited, never a 500)."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._errors = redis.RedisError

    def _unavailable(self) -> ApiError:
        return ApiError(
            "service_unavailable",
            "The rate-limit store cannot be reached right now; retry shortly.",
            headers={"Retry-After": "5"},
        )

    def hit(self, key: str, window: int, now: float, amount: int = 1) -> Hit:
        start = int(now) // window * window
        name = f"flipdeck:rate:{key}:{start}"
        try:
            pipe = self._redis.pipeline()
            pipe.incrby(name, amount)
            pipe.expire(name, window + 60)
            count, _ = pipe.execute()
        except self._errors:
            raise self._unavailable() from None
        return Hit(int(count), start + window)

    def peek(self, key: str, window: int, now: float) -> Hit:
        start = int(now) // window * window
        try:
            value = self._redis.get(f"flipdeck:rate:{key}:{start}")
        except self._errors:
            raise self._unavailable() from None
        return Hit(int(value or 0), start + window)

    def purge(self, now: float) -> int:
        return 0  # keys expire by themselves


def counter(redis_url: str | None):
    """The counter store the configuration asks for."""
    return RedisCounter(redis_url) if redis_url else DatabaseCounter()

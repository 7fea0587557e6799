"""Provides the peewee models of the accounts domain, bound to the database proxy.

Times are integer epoch seconds (UTC), the same on SQLite and PostgreSQL. Ids are UUIDv7
strings, never sequential. Only digests of refresh tokens are stored.
"""

from __future__ import annotations

import peewee

from flipdeck.server.db import database

ROLES = ("student", "instructor", "admin")


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


class User(BaseModel):
    """An account. ``token_version`` bumps invalidate every access token at once."""

    id = peewee.CharField(primary_key=True, max_length=36)
    username = peewee.CharField(max_length=64, unique=True)
    email = peewee.CharField(max_length=254, unique=True)
    password_hash = peewee.TextField()
    role = peewee.CharField(max_length=16, default="student", index=True)
    display_name = peewee.CharField(max_length=100, default="")
    bio = peewee.TextField(default="")
    avatar_url = peewee.CharField(max_length=2048, default="")
    timezone = peewee.CharField(max_length=64, default="UTC")
    token_version = peewee.IntegerField(default=0)
    disabled = peewee.BooleanField(default=False)
    created_at = peewee.BigIntegerField()
    updated_at = peewee.BigIntegerField()


class Family(BaseModel):
    """One device's sign-in: the chain of refresh tokens that login started."""

    id = peewee.CharField(primary_key=True, max_length=36)
    user = peewee.ForeignKeyField(User, backref="families", on_delete="CASCADE")
    name = peewee.CharField(max_length=100, default="")
    user_agent = peewee.CharField(max_length=256, default="")
    created_at = peewee.BigIntegerField()
    expires_at = peewee.BigIntegerField(index=True)
    last_used_at = peewee.BigIntegerField()
    revoked_at = peewee.BigIntegerField(null=True)
    revoke_reason = peewee.CharField(max_length=32, null=True)


class RefreshToken(BaseModel):
    """A refresh token, by the SHA-256 digest of its value; ``parent`` is the token it
    replaced, so siblings (two successors of one token, rule 10) can be found."""

    digest = peewee.CharField(primary_key=True, max_length=64)
    family = peewee.ForeignKeyField(Family, backref="tokens", on_delete="CASCADE")
    parent = peewee.CharField(max_length=64, null=True, index=True)
    issued_at = peewee.BigIntegerField()
    used_at = peewee.BigIntegerField(null=True)
    consumed_by = peewee.CharField(max_length=16, null=True)


class RateWindow(BaseModel):
    """A counter for one key in one fixed window (rate limits and failure budgets)."""

    key = peewee.CharField(max_length=200)
    window = peewee.BigIntegerField()
    count = peewee.IntegerField(default=0)
    expires_at = peewee.BigIntegerField(index=True)

    class Meta:
        primary_key = peewee.CompositeKey("key", "window")


class LoginState(BaseModel):
    """Consecutive failed logins for one login name (known or not) and its lock."""

    name = peewee.CharField(primary_key=True, max_length=254)
    failures = peewee.IntegerField(default=0)
    locked_until = peewee.BigIntegerField(default=0)
    updated_at = peewee.BigIntegerField()


class SyncHead(BaseModel):
    """The last position of a user's sync log; its row is locked while a push appends, so
    positions are handed out, and become visible, strictly in order."""

    user = peewee.ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
    seq = peewee.BigIntegerField(default=0)


class SyncChange(BaseModel):
    """One change in a user's append-only sync log, at position ``seq``; ``change_id`` is the
    device's own id for it, so a change is stored at most once however often it is pushed.
    ``data`` is kept as the JSON text the device sent (kinds this server does not know are
    relayed untouched)."""

    user = peewee.ForeignKeyField(User, on_delete="CASCADE")
    seq = peewee.BigIntegerField()
    change_id = peewee.CharField(max_length=64)
    device = peewee.CharField(max_length=64)
    entity = peewee.CharField(max_length=32)
    row_id = peewee.CharField(max_length=64)
    hlc = peewee.CharField(max_length=32)
    data = peewee.TextField()
    received_at = peewee.BigIntegerField()

    class Meta:
        primary_key = peewee.CompositeKey("user", "seq")
        indexes = ((("user", "change_id"), True),)


class IdempotencyKey(BaseModel):
    """A request made with an ``Idempotency-Key`` (security.md rules 28–29): the body's
    fingerprint and, once done, the response to replay."""

    user = peewee.ForeignKeyField(User, on_delete="CASCADE")
    route = peewee.CharField(max_length=64)
    key = peewee.CharField(max_length=255)
    fingerprint = peewee.CharField(max_length=64)
    status = peewee.IntegerField(null=True)
    body = peewee.TextField(null=True)
    created_at = peewee.BigIntegerField(index=True)

    class Meta:
        primary_key = peewee.CompositeKey("user", "route", "key")


MODELS = (User, Family, RefreshToken, RateWindow, LoginState, SyncHead, SyncChange, IdempotencyKey)

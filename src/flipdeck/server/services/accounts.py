"""Provides accounts, device sign-ins and their tokens (security.md rules 4–19).

Every sign-in starts a *family* (one per device): an access token naming it (``sid``) and a
refresh token. Each refresh consumes the presented token with one conditional ``UPDATE`` (so
across workers and hosts exactly one request wins) and returns a new pair. Presenting a consumed
token again is reuse and revokes the family, except within the grace window after a rotation,
when it yields a sibling pair, so a lost response never logs a device out.
"""

from __future__ import annotations

import logging
import math
import unicodedata
import uuid
from dataclasses import dataclass

import peewee

from flipdeck.core.ids import uuid7
from flipdeck.server import logs, tokens
from flipdeck.server.config import Config
from flipdeck.server.db import database, fetch_one
from flipdeck.server.errors import ApiError
from flipdeck.server.models import Family, LoginState, RefreshToken, User
from flipdeck.server.passwords import Hasher, check_policy
from flipdeck.server.ratelimit import address_key

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="flipdeck"'}
_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="flipdeck", error="invalid_token"'}


@dataclass(frozen=True)
class Pair:
    """A token response."""

    access: str
    refresh: str
    expires_in: int
    user: User
    family: Family


def login_key(name: str) -> str:
    """The normalised login name lockouts are keyed by (known users or not)."""
    return unicodedata.normalize("NFKC", name).strip().casefold()[:254]


def _now(config: Config) -> int:
    return int(config.clock())


def _printable(text: str, limit: int) -> str:
    """A client-supplied label without control characters (PostgreSQL refuses NUL), cut."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc")[:limit]


def _start_family(config: Config, issuer, user: User, device: str, agent: str) -> Pair:
    now = _now(config)
    family = Family.create(
        id=uuid7(),
        user=user,
        name=_printable(device, 100),
        user_agent=_printable(agent, 256),
        created_at=now,
        expires_at=now + config.refresh_ttl,
        last_used_at=now,
    )
    return _issue(config, issuer, user, family, parent=None)


def _issue(config: Config, issuer, user: User, family: Family, parent: str | None) -> Pair:
    token, digest = tokens.new_refresh_token()
    RefreshToken.create(digest=digest, family=family, parent=parent, issued_at=_now(config))
    access = issuer.access_token(user.id, family.id, user.token_version)
    return Pair(access, token, config.access_ttl, user, family)


# -- registration and sign-in ----------------------------------------------------------------


def register(
    config: Config,
    issuer,
    hasher: Hasher,
    *,
    username: str,
    email: str,
    password: str,
    device: str = "",
    agent: str = "",
) -> Pair:
    """Create an account and sign it in at once."""
    name = username.strip().lower()  # usernames are ASCII (validation), kept lowercased
    mail = login_key(email)  # the form sign-in looks it up by (NFKC, case-folded)
    value = check_policy(password, username=name, email=mail, pointer="/password")
    if User.select().where(User.username == name).exists():
        raise ApiError("username_taken", f"The username {name!r} is taken.")
    if User.select().where(User.email == mail).exists():
        raise ApiError("email_taken", "That e-mail address is already registered.")
    password_hash = hasher.hash(value)
    now = _now(config)
    try:
        with database.atomic():
            user = User.create(
                id=uuid7(),
                username=name,
                email=mail,
                password_hash=password_hash,
                display_name=username.strip(),
                created_at=now,
                updated_at=now,
            )
            pair = _start_family(config, issuer, user, device, agent)
    except peewee.IntegrityError:
        raise ApiError("conflict", "That username or e-mail address was just taken.") from None
    logs.event("registered", user=user.id)
    return pair


def _lock_headers(seconds: int) -> dict[str, str]:
    return {"Retry-After": str(max(1, seconds))}


def login(
    config: Config,
    issuer,
    hasher: Hasher,
    counter,
    *,
    login: str,
    password: str,
    ip: str,
    device: str = "",
    agent: str = "",
) -> Pair:
    """Check a password (rate limits and lockouts first, no hash while locked) and sign in."""
    key = login_key(login)
    user, state = _check_password(
        config,
        hasher,
        counter,
        key=key,
        ip=ip,
        password=password,
        lookup=lambda: User.get_or_none((User.username == key) | (User.email == key)),
        wrong="Wrong login or password.",
    )
    # the upgrade hash (rule 15) is computed before the write transaction: on SQLite that
    # transaction holds the database's one write lock, which must never wait on a KDF
    upgraded = hasher.hash(password) if hasher.needs_rehash(user.password_hash) else None
    with database.atomic():
        LoginState.delete().where(LoginState.name == key).execute()
        if upgraded is not None:
            user.password_hash = upgraded
            user.save(only=[User.password_hash])
        pair = _start_family(config, issuer, user, device, agent)
    if state is not None and state.failures >= config.limits.lockout_threshold:
        logs.event("lockout_ended", login=key[:64], reason=str(state.failures))
    logs.event("login_succeeded", user=user.id)
    return pair


def _check_password(
    config: Config,
    hasher: Hasher,
    counter,
    *,
    key: str,
    ip: str,
    password,
    lookup,
    wrong: str,
    code: str = "invalid_credentials",
) -> tuple[User, LoginState | None]:
    """The user whose password this is, after the budgets and the lock allow a hash
    (rules 17 and 19); otherwise 429, or 401 with the failure recorded.

    Both hourly failure budgets (per address, per account) are *reserved* by an atomic
    increment before hashing and given back unless the attempt fails, so however many
    requests run at once, no more than the budget are ever evaluated.
    """
    now = _now(config)
    limits = config.limits
    reserved: list[str] = []
    try:
        by_ip = f"loginfail-ip:{address_key(ip)}"
        hit = counter.hit(by_ip, 3600, now)
        reserved.append(by_ip)
        if hit.count > limits.failed_logins_per_ip_hour:
            raise ApiError(
                "rate_limited",
                "Too many failed sign-ins from your address.",
                headers=_lock_headers(hit.resets_at - now),
            )
        state = LoginState.get_or_none(LoginState.name == key)
        exact = config.clock()  # locks end on a whole second, so compare with the real time
        if state is not None and state.locked_until > exact:
            raise ApiError(
                "login_locked",
                "Too many failed sign-ins for this account; wait and retry.",
                headers=_lock_headers(math.ceil(state.locked_until - exact)),
            )
        by_account = f"loginfail-acct:{key}"
        hit = counter.hit(by_account, 3600, now)
        reserved.append(by_account)
        if hit.count > limits.failures_per_account_hour:
            raise ApiError(
                "login_locked",
                "Too many failed sign-ins for this account this hour.",
                headers=_lock_headers(hit.resets_at - now),
            )
        user = lookup()
        ok = hasher.verify(
            password if isinstance(password, str) else "", user.password_hash if user else None
        )
        if not ok or user is None or user.disabled:
            reserved.clear()  # the reservations stand: they are this failure
            _record_failure(config, key, ip)
            headers = _CHALLENGE if code == "invalid_credentials" else None
            raise ApiError(code, wrong, headers=headers)
        return user, state
    finally:
        for name in reserved:  # not a failure (refused, succeeded, or no hash slot)
            counter.hit(name, 3600, now, amount=-1)


def _record_failure(config: Config, key: str, ip: str) -> None:
    """Count a consecutive failure (one atomic increment, so concurrent failures all count)
    and start the lock from the fifth: 1 s, doubling, at most ``lockout_max_seconds``."""
    now = _now(config)
    limits = config.limits
    locked_until = 0
    with database.atomic():
        cursor = (
            LoginState.insert(name=key, failures=1, locked_until=0, updated_at=now)
            .on_conflict(
                conflict_target=[LoginState.name],
                update={LoginState.failures: LoginState.failures + 1, LoginState.updated_at: now},
            )
            .returning(LoginState.failures)
            .tuples()
            .execute()
        )
        (failures,) = (int(row[0]) for row in list(cursor))  # all read: SQLite cannot commit
        # while a RETURNING statement is still open
        if failures >= limits.lockout_threshold:
            delay = min(2 ** (failures - limits.lockout_threshold), limits.lockout_max_seconds)
            # rounded up, never down: a "1 s" lock lasts at least a second
            locked_until = math.ceil(config.clock() + delay)
            LoginState.update(locked_until=locked_until).where(LoginState.name == key).execute()
    logs.event("login_failed", logging.WARNING, login=key[:64], client_ip=ip)
    if locked_until:
        logs.event("lockout_started", logging.WARNING, login=key[:64], reason=str(failures))


# -- refresh, logout ---------------------------------------------------------------------------


def refresh(config: Config, issuer, presented: str) -> Pair:
    """Rotate a refresh token (rules 7–10)."""
    if not isinstance(presented, str) or not presented or len(presented) > 512:
        raise ApiError("invalid_refresh_token", headers=_UNAUTHORIZED)
    digest = tokens.digest(presented)
    now = _now(config)
    with database.atomic():
        row = (
            RefreshToken.select(RefreshToken, Family, User)
            .join(Family)
            .join(User)
            .where(RefreshToken.digest == digest)
            .first()
        )
        if row is None:
            raise ApiError("invalid_refresh_token", headers=_UNAUTHORIZED)
        family, user = row.family, row.family.user
        if family.revoked_at is not None or family.expires_at <= now or user.disabled:
            raise ApiError("invalid_refresh_token", headers=_UNAUTHORIZED)
        claimed = (
            RefreshToken.update(used_at=now, consumed_by="rotation")
            .where((RefreshToken.digest == digest) & RefreshToken.used_at.is_null())
            .execute()
        )
        if claimed == 1:
            # this token is now the family's past; its unused siblings are spent with it
            if row.parent is not None:
                (
                    RefreshToken.update(used_at=now, consumed_by="sibling")
                    .where(
                        (RefreshToken.parent == row.parent)
                        & (RefreshToken.digest != digest)
                        & RefreshToken.used_at.is_null()
                    )
                    .execute()
                )
            Family.update(last_used_at=now).where(Family.id == family.id).execute()
            pair = _issue(config, issuer, user, family, parent=digest)
            logs.event("refresh_rotated", family_id=family.id)
            return pair
        current = RefreshToken.get(RefreshToken.digest == digest)
        moved_on = (
            RefreshToken.select()
            .where((RefreshToken.parent == digest) & (RefreshToken.consumed_by == "rotation"))
            .exists()
        )
        in_grace = (
            current.consumed_by == "rotation"
            and now - (current.used_at or 0) <= config.refresh_grace
            and not moved_on
        )
        if in_grace:
            pair = _issue(config, issuer, user, family, parent=digest)
            logs.event("refresh_rotated", family_id=family.id, reason="grace")
            return pair
    # reuse: outside the transaction above, so the revocation is not rolled back
    revoke_family(config, family.id, "reuse")
    logs.event("refresh_reuse_detected", logging.WARNING, family_id=family.id)
    raise ApiError("invalid_refresh_token", headers=_UNAUTHORIZED)


def revoke_family(config: Config, family_id: str, reason: str) -> None:
    """End one device's sign-in: its refresh tokens and (rule 4) its access tokens."""
    with database.atomic():
        Family.update(revoked_at=_now(config), revoke_reason=reason).where(
            (Family.id == family_id) & Family.revoked_at.is_null()
        ).execute()


def logout(config: Config, family: Family) -> None:
    """Sign this device out."""
    revoke_family(config, family.id, "logout")
    logs.event("logout", family_id=family.id)


def logout_all(config: Config, user: User) -> None:
    """Sign every device out and invalidate every access token (``ver`` bump)."""
    now = _now(config)
    with database.atomic():
        Family.update(revoked_at=now, revoke_reason="logout_all").where(
            (Family.user == user.id) & Family.revoked_at.is_null()
        ).execute()
        User.update(token_version=User.token_version + 1, updated_at=now).where(
            User.id == user.id
        ).execute()
    logs.event("logout_all")


def change_password(
    config: Config,
    issuer,
    hasher: Hasher,
    user: User,
    family: Family,
    *,
    current: str,
    new: str,
    counter=None,
    ip: str = "",
) -> Pair:
    """Change the password (the current one required); other devices are signed out and this
    one gets a fresh pair (rule 12). With a ``counter``, a wrong current password counts
    against the account's lockout like a failed sign-in, so a stolen access token cannot be
    used to guess the password either."""
    if counter is not None:
        _check_password(
            config,
            hasher,
            counter,
            key=login_key(user.username),
            ip=ip,
            password=current,
            lookup=lambda: User.get_or_none(User.id == user.id),
            wrong="The current password is wrong.",
            code="wrong_password",
        )
    elif not hasher.verify(current if isinstance(current, str) else "", user.password_hash):
        raise ApiError("wrong_password", "The current password is wrong.")
    value = check_policy(new, username=user.username, email=user.email, pointer="/new_password")
    password_hash = hasher.hash(value)
    now = _now(config)
    with database.atomic():
        User.update(
            password_hash=password_hash, token_version=User.token_version + 1, updated_at=now
        ).where(User.id == user.id).execute()
        Family.update(revoked_at=now, revoke_reason="password_changed").where(
            (Family.user == user.id) & (Family.id != family.id) & Family.revoked_at.is_null()
        ).execute()
        user = User.get_by_id(user.id)
        RefreshToken.update(used_at=now, consumed_by="password").where(
            (RefreshToken.family == family.id) & RefreshToken.used_at.is_null()
        ).execute()
        pair = _issue(config, issuer, user, family, parent=None)
    logs.event("password_changed")
    return pair


# -- every authenticated request -------------------------------------------------------------


def authenticate(issuer, token: str, config: Config) -> tuple[User, Family]:
    """The user and device sign-in an access token speaks for, read fresh (rule 4)."""
    try:
        claims = issuer.decode(token)
    except tokens.InvalidToken as error:
        logs.event("authz_denied", logging.INFO, reason=str(error))
        raise ApiError("invalid_token", headers=_UNAUTHORIZED) from None
    row = _signed_in(claims["sid"], claims["sub"])
    now = _now(config)
    if (
        row is None
        or row.revoked_at is not None
        or row.expires_at <= now
        or row.user.disabled
        or type(claims["ver"]) is not int
        or claims["ver"] != row.user.token_version
    ):
        raise ApiError("invalid_token", headers=_UNAUTHORIZED)
    return row.user, row


_SIGNED_IN_SQL: dict[type, str] = {}  # by database class: placeholders and quoting


def _signed_in(family_id: str, user_id: str) -> Family | None:
    """The device sign-in and its user, in one indexed query whose SQL is built once per
    database (building it with peewee on every request cost more than running it)."""
    db = database.obj
    sql = _SIGNED_IN_SQL.get(type(db))
    if sql is None:
        query = (
            Family.select(Family, User).join(User).where((Family.id == "?") & (Family.user == "?"))
        )
        sql = _SIGNED_IN_SQL[type(db)] = query.sql()[0]
    found = fetch_one(sql, (family_id, user_id))
    if found is None:
        return None
    split = len(Family._meta.sorted_fields)
    user = _loaded(User, found[split:])
    family = _loaded(Family, found[:split])
    family.__rel__["user"] = user
    return family


_READERS: dict[type, tuple[tuple[str, ...], tuple[tuple[str, object], ...]]] = {}
_AS_STORED = (peewee.CharField, peewee.TextField, peewee.IntegerField)
"""Field types both drivers already return as the Python value (``BigIntegerField`` is an
``IntegerField``); the rest (booleans, which SQLite stores as 0/1) go through ``python_value``."""


def _loaded(model: type, row) -> peewee.Model:
    """A model instance from a row in ``sorted_fields`` order, as peewee's own cursor wrapper
    builds one (``__data__`` filled, nothing dirty), without its per-field ``setattr`` calls:
    on the request path those cost more than the query."""
    readers = _READERS.get(model)
    if readers is None:
        fields = model._meta.sorted_fields
        readers = _READERS[model] = (
            tuple(f.name for f in fields),
            tuple((f.name, f.python_value) for f in fields if not isinstance(f, _AS_STORED)),
        )
    names, converted = readers
    data = dict(zip(names, row, strict=True))
    for name, read in converted:
        if data[name] is not None:
            data[name] = read(data[name])
    instance = model(__no_default__=1)
    instance.__data__ = data
    return instance


# -- profile, devices, administration -----------------------------------------------------------


def update_profile(config: Config, user: User, changes: dict) -> User:
    """Change the caller's display name, bio, avatar URL or time zone."""
    if changes:
        changes["updated_at"] = _now(config)
        User.update(**changes).where(User.id == user.id).execute()
    return User.get_by_id(user.id)


def is_id(value: str) -> bool:
    """Whether a path segment can be one of our ids (anything else is simply not found, and
    never reaches SQL: PostgreSQL refuses a NUL in a parameter with an error, not a miss)."""
    try:
        return len(value) == 36 and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def get_user(user_id: str) -> User:
    """A user by id, or 404."""
    user = User.get_or_none(User.id == user_id) if is_id(user_id) else None
    if user is None:
        raise ApiError("not_found", "No such user.")
    return user


def revoke_device(config: Config, user: User, family_id: str) -> None:
    """Sign one of the caller's devices out; someone else's device is simply not found."""
    if not is_id(family_id):
        raise ApiError("not_found", "No such device.")
    family = Family.get_or_none((Family.id == family_id) & (Family.user == user.id))
    if family is None or family.revoked_at is not None:
        raise ApiError("not_found", "No such device.")
    revoke_family(config, family.id, "revoked")


def set_role(config: Config, admin: User, user_id: str, role: str) -> User:
    """An admin changes a user's role (effective from that user's next request)."""
    get_user(user_id)
    User.update(role=role, updated_at=_now(config)).where(User.id == user_id).execute()
    logs.event("role_changed", user=user_id, reason=role)
    return User.get_by_id(user_id)


def purge(config: Config, counter) -> dict[str, int]:
    """Delete expired and revoked sign-ins and old counters (idempotent; rule 13)."""
    now = _now(config)
    with database.atomic():
        dead = Family.select(Family.id).where(
            (Family.expires_at <= now) | (Family.revoked_at.is_null(False))
        )
        tokens_gone = RefreshToken.delete().where(RefreshToken.family.in_(dead)).execute()
        families_gone = (
            Family.delete()
            .where((Family.expires_at <= now) | (Family.revoked_at.is_null(False)))
            .execute()
        )
        locks_gone = (
            LoginState.delete()
            .where((LoginState.locked_until <= now) & (LoginState.updated_at <= now - 86_400))
            .execute()
        )
        from flipdeck.server import idempotency

        keys_gone = idempotency.purge(now)
    counters_gone = counter.purge(now)
    return {
        "families": families_gone,
        "refresh_tokens": tokens_gone,
        "login_states": locks_gone,
        "rate_windows": counters_gone,
        "idempotency_keys": keys_gone,
    }

"""Provides :class:`Config`: everything the server needs, read from the environment once.

`create_app(config)` receives it whole, so tests build one directly (a temporary database, a
frozen clock, cheap password hashing) and production reads ``FLIPDECK_*`` variables. Defaults
are the secure values of ``security.md``; settings may make them stricter.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flipdeck.paths import home

MIN_SECRET_BYTES = 32
MAX_LEEWAY = 5
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class PasswordPolicy:
    """scrypt parameters; ``cost`` is log2 of N."""

    cost: int = 17
    block_size: int = 8
    parallelism: int = 1

    @property
    def label(self) -> str:
        """How the parameters are written into a stored hash."""
        return f"ln={self.cost},r={self.block_size},p={self.parallelism}"


PASSWORD_PROFILES = {
    "default": PasswordPolicy(17, 8, 1),  # 0.32 s and 128 MiB per hash (security.md §3)
    "low-memory": PasswordPolicy(14, 8, 5),  # 0.14 s and 16 MiB
}


@dataclass(frozen=True)
class Limits:
    """Request budgets, per fixed window."""

    anonymous_per_hour: int = 100
    user_per_hour: int = 1000
    auth_per_minute: int = 20
    lockout_threshold: int = 5
    lockout_max_seconds: int = 900
    failures_per_account_hour: int = 100
    failed_logins_per_ip_hour: int = 50


@dataclass(frozen=True)
class Config:
    """The server's settings (see ``docs/server.md`` for each variable)."""

    database_url: str
    secret_key: bytes
    old_secret_keys: tuple[bytes, ...] = ()
    issuer: str = "flipdeck"
    audience: str = "flipdeck-api"
    access_ttl: int = 15 * 60
    refresh_ttl: int = 7 * 86_400
    refresh_grace: int = 30
    leeway: int = 5
    password: PasswordPolicy = field(default_factory=PasswordPolicy)
    hash_slots: int = field(default_factory=lambda: os.cpu_count() or 1)
    hash_wait: float = 2.0
    limits: Limits = field(default_factory=Limits)
    max_body: int = 1 << 20
    max_sync_body: int = 8 << 20
    page_size_cap: int = 100
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    cors_origins: tuple[str, ...] = ()
    redis_url: str | None = None
    log_level: str = "INFO"
    pool_size: int = 8
    db_timeout: float = 5.0
    clock: Callable[[], float] = time.time
    dev: bool = False

    def __post_init__(self) -> None:
        if len(self.secret_key) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"FLIPDECK_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes "
                f"(it has {len(self.secret_key)}); make one with `openssl rand -hex 32`"
            )
        for number, key in enumerate(self.old_secret_keys, 1):
            # a retired key still verifies tokens, so it must be as strong as the current one
            if len(key) < MIN_SECRET_BYTES:
                raise ConfigError(
                    f"FLIPDECK_OLD_SECRET_KEYS: key {number} must be at least "
                    f"{MIN_SECRET_BYTES} bytes (it has {len(key)})"
                )
        if not 0 <= self.leeway <= MAX_LEEWAY:
            raise ConfigError(f"the token leeway must be 0–{MAX_LEEWAY} s (rule 3)")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"FLIPDECK_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, dev: bool = False) -> Config:
        """Read the configuration; ``dev`` allows a generated, persisted secret key."""
        env = os.environ if env is None else env

        def integer(name: str, default: int) -> int:
            raw = env.get(name)
            if raw in (None, ""):
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
            if value < 0:
                raise ConfigError(f"{name} cannot be negative")
            return value

        def stricter(name: str, default: int) -> int:
            """A limit that configuration may lower but never raise above the secure value."""
            value = integer(name, default)
            if value > default:
                raise ConfigError(f"{name} may not exceed its secure default {default}")
            return value

        secret = env.get("FLIPDECK_SECRET_KEY", "").encode()
        if not secret:
            if not dev:
                raise ConfigError(
                    "FLIPDECK_SECRET_KEY is required (at least 32 random bytes, e.g. "
                    "`openssl rand -hex 32`); only `serve --dev` generates one"
                )
            secret = dev_secret(home(env))
        old = tuple(k.encode() for k in env.get("FLIPDECK_OLD_SECRET_KEYS", "").split() if k)
        proxies = []
        for item in env.get("FLIPDECK_TRUSTED_PROXIES", "").replace(",", " ").split():
            try:
                proxies.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ConfigError(
                    f"FLIPDECK_TRUSTED_PROXIES: not an address or CIDR: {item!r}"
                ) from None
        profile = env.get("FLIPDECK_PASSWORD_PROFILE", "default")
        if profile not in PASSWORD_PROFILES:
            raise ConfigError(
                f"FLIPDECK_PASSWORD_PROFILE must be one of {', '.join(PASSWORD_PROFILES)}"
            )
        defaults = Limits()
        return cls(
            database_url=env.get("FLIPDECK_DATABASE_URL") or f"sqlite:///{home(env) / 'server.db'}",
            secret_key=secret,
            old_secret_keys=old,
            issuer=env.get("FLIPDECK_ISSUER", "flipdeck"),
            access_ttl=stricter("FLIPDECK_ACCESS_TOKEN_SECONDS", 15 * 60),
            refresh_ttl=stricter("FLIPDECK_REFRESH_TOKEN_SECONDS", 7 * 86_400),
            refresh_grace=stricter("FLIPDECK_REFRESH_GRACE_SECONDS", 30),
            password=PASSWORD_PROFILES[profile],
            hash_slots=integer("FLIPDECK_HASH_SLOTS", os.cpu_count() or 1) or 1,
            limits=Limits(
                anonymous_per_hour=stricter(
                    "FLIPDECK_RATE_ANONYMOUS_PER_HOUR", defaults.anonymous_per_hour
                ),
                user_per_hour=stricter("FLIPDECK_RATE_USER_PER_HOUR", defaults.user_per_hour),
                auth_per_minute=stricter("FLIPDECK_RATE_AUTH_PER_MINUTE", defaults.auth_per_minute),
            ),
            max_body=stricter("FLIPDECK_MAX_BODY_BYTES", 1 << 20),
            max_sync_body=stricter("FLIPDECK_MAX_SYNC_BODY_BYTES", 8 << 20),
            trusted_proxies=tuple(proxies),
            cors_origins=tuple(env.get("FLIPDECK_CORS_ORIGINS", "").replace(",", " ").split()),
            redis_url=env.get("FLIPDECK_REDIS_URL") or None,
            log_level=env.get("FLIPDECK_LOG_LEVEL", "INFO").upper(),
            pool_size=integer("FLIPDECK_DB_POOL_SIZE", 8) or 1,
            dev=dev,
        )


def dev_secret(directory: Path) -> bytes:
    """A development signing key, generated once and kept (mode 0600), with a warning."""
    path = directory / "server-dev-secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    sys.stderr.write(
        f"warning: using the development secret key in {path}; set FLIPDECK_SECRET_KEY "
        "outside development\n"
    )
    return path.read_text().strip().encode()

"""Server fixtures: the real app (``create_app``) on a fresh database — a SQLite file per test,
and PostgreSQL when ``FLIPDECK_TEST_DATABASE_URL`` is set (``.ci/run`` sets it) — with a clock
the test controls.

Most tests hash passwords with cheap scrypt parameters (``FAST``) so the suite stays quick;
tests of hashing itself and of the live server use the production defaults.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from urllib.parse import urlparse, urlunparse

import pytest

from flipdeck.server.config import Config, Limits, PasswordPolicy

FAST = PasswordPolicy(cost=10, block_size=8, parallelism=1)
SECRET = b"test-secret-key-for-flipdeck-0123456789abcdef"
LOOSE = Limits(
    anonymous_per_hour=10**9,
    user_per_hour=10**9,
    auth_per_minute=10**9,
    failed_logins_per_ip_hour=10**9,
)
STRONG_PASSWORD = "correct horse battery staple"
PG_URL = os.environ.get("FLIPDECK_TEST_DATABASE_URL")
TABLES = (
    "idempotency_key",
    "sync_change",
    "sync_head",
    "login_state",
    "rate_window",
    "refresh_token",
    "family",
    "user",
)


class SecondsClock:
    """A controllable clock in epoch seconds (float)."""

    def __init__(self, start: float = 1_796_126_400.0) -> None:  # 2026-12-01 12:00 UTC
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def _with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh, migrated PostgreSQL database for this test process (dropped at the end)."""
    if not PG_URL:
        yield None
        return
    import psycopg

    name = f"flipdeck_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(PG_URL, name)
    _migrate(url)
    yield url
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str) -> None:
    from flipdeck.server import migrations
    from flipdeck.server.db import open_database

    db = open_database(Config(database_url=url, secret_key=SECRET))
    with db.connection_context():
        migrations.run(db)
    db.close_all() if hasattr(db, "close_all") else db.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, postgres_url):
    """Each server test runs on SQLite and, when configured, on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'server.db'}"
        _migrate(url)
        return url
    if postgres_url is None:
        pytest.skip("FLIPDECK_TEST_DATABASE_URL is not set (CI sets it)")
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in TABLES) + " CASCADE")
    return postgres_url


@pytest.fixture
def seconds_clock():
    return SecondsClock()


@pytest.fixture
def make_config(database_url, seconds_clock):
    """A function building a test configuration; keyword arguments override fields."""

    def build(**overrides) -> Config:
        base = Config(
            database_url=database_url,
            secret_key=SECRET,
            password=FAST,
            limits=LOOSE,
            clock=seconds_clock,
            log_level="WARNING",
        )
        return dataclasses.replace(base, **overrides)

    return build


@pytest.fixture
def make_client(make_config):
    """A function building a ``falcon.testing.TestClient`` on a fresh app."""
    import falcon.testing

    from flipdeck.server.app import create_app

    def build(**overrides):
        return falcon.testing.TestClient(create_app(make_config(**overrides)))

    return build


@pytest.fixture
def client(make_client):
    """The app with test defaults."""
    return make_client()


# the public shape of a user, as every endpoint that returns one answers it
USER_KEYS = {
    "id",
    "username",
    "email",
    "role",
    "display_name",
    "bio",
    "avatar_url",
    "timezone",
    "created_at",
}


def register(client, username="alice", email=None, password=STRONG_PASSWORD, **extra):
    """Register through the API; returns the token response."""
    response = client.simulate_post(
        "/v1/auth/register",
        json={
            "username": username,
            "email": email or f"{username}@example.com",
            "password": password,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    return response.json


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}

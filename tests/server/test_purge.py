"""The purge of dead sign-in state (security.md rule 13): expired and revoked families with
their refresh tokens, spent rate windows and stale login states go; everything live stays and
keeps working; a second run is a no-op.
"""

from __future__ import annotations

import falcon.testing
import jwt

from flipdeck.server.app import create_app
from flipdeck.server.config import Limits
from flipdeck.server.db import database
from flipdeck.server.models import Family, LoginState, RateWindow, RefreshToken, User
from flipdeck.server.ratelimit import DatabaseCounter
from flipdeck.server.services import accounts
from tests.server.conftest import STRONG_PASSWORD, register

DAY = 86_400


def sid(pair: dict) -> str:
    return jwt.decode(pair["access"], options={"verify_signature": False})["sid"]


def snapshot() -> dict:
    with database.connection_context():
        return {
            "families": sorted(f.id for f in Family.select()),
            "tokens": sorted((t.digest, t.family_id) for t in RefreshToken.select()),
            "logins": sorted(s.name for s in LoginState.select()),
            "windows": sorted((w.key, w.window) for w in RateWindow.select()),
        }


def test_the_purge_removes_dead_rows_once(make_config, seconds_clock):
    """Rule 13: dead rows go, live ones stay and work, and the second run is a no-op."""
    config = make_config(limits=Limits(auth_per_minute=10**6, anonymous_per_hour=10**6))
    client = falcon.testing.TestClient(create_app(config))

    def post(path, body, **kw):
        return client.simulate_post(path, json=body, **kw)

    def login(name="alice", password=STRONG_PASSWORD):
        return post("/v1/auth/login", {"username": name, "password": password})

    old = register(client, "alice")  # expires 7 days from now
    assert login("bob", "wrong password, bob").status_code == 401  # a stale login state
    seconds_clock.advance(DAY)
    revoked = login().json
    assert (
        post(
            "/v1/auth/logout", {}, headers={"Authorization": f"Bearer {revoked['access']}"}
        ).status_code
        == 204
    )
    live = login().json
    for _ in range(2):
        live = post("/v1/auth/refresh", {"refresh": live["refresh"]}).json
    seconds_clock.advance(6 * DAY + 1)  # the first family is past its 7 days
    live = post("/v1/auth/refresh", {"refresh": live["refresh"]}).json
    assert login("carol", "wrong password, carol").status_code == 401  # recent: kept
    for _ in range(5):
        login("dave", "wrong password, dave")  # locked now: kept
    now = int(seconds_clock())
    with database.connection_context():
        ghost = User.get(User.username == "alice")
        Family.create(
            id="00000000-0000-7000-8000-00000000dead",
            user=ghost,
            created_at=1,
            expires_at=2,
            last_used_at=1,
        )
        RefreshToken.create(
            digest="f" * 64, family="00000000-0000-7000-8000-00000000dead", issued_at=1
        )
        RateWindow.create(key="ip:192.0.2.1", window=0, count=7, expires_at=60)
        live_windows = RateWindow.select().where(RateWindow.expires_at > now).count()

    before = snapshot()
    assert {sid(old), sid(revoked), sid(live)} <= set(before["families"])
    with database.connection_context():
        first = accounts.purge(config, DatabaseCounter())
    after = snapshot()
    assert first["families"] == 3 and first["login_states"] == 1
    assert first["refresh_tokens"] == 3  # old's, revoked's and the inserted one
    assert first["rate_windows"] >= 2
    assert after["families"] == [sid(live)]
    assert {family for _, family in after["tokens"]} == {sid(live)}
    assert len(after["tokens"]) == 4  # the live chain: three spent, one current
    assert after["logins"] == ["carol", "dave"]
    assert len(after["windows"]) == live_windows

    with database.connection_context():
        second = accounts.purge(config, DatabaseCounter())
    assert second == {
        "families": 0,
        "refresh_tokens": 0,
        "login_states": 0,
        "rate_windows": 0,
        "idempotency_keys": 0,
    }
    assert snapshot() == after

    renewed = post("/v1/auth/refresh", {"refresh": live["refresh"]})
    assert renewed.status_code == 200
    me = client.simulate_get(
        "/v1/me", headers={"Authorization": f"Bearer {renewed.json['access']}"}
    )
    assert me.status_code == 200
    assert post("/v1/auth/refresh", {"refresh": revoked["refresh"]}).status_code == 401
    assert post("/v1/auth/refresh", {"refresh": old["refresh"]}).status_code == 401

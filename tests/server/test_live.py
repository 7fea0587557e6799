"""The real server, as an operator runs it: ``flipdeck-server serve`` under gunicorn with two
worker processes on a free loopback port, against PostgreSQL and SQLite, driven over HTTP.

* the deployment proof: the configuration of ``docker-compose.yml`` and the ``Dockerfile``
  (gunicorn, 2 workers, PostgreSQL), proved natively: register, login, refresh and ``/v1/me``
  through it, and two worker processes really exist;
* A7: one refresh token raced by 20 clients across the two workers: exactly one rotation,
  every other answer a sibling pair or a 401, the family alive, then only the first sibling
  presented carries on;
* A8: brute force with the production password profile ends in a lockout with
  ``Retry-After`` and no further hashing, and the right password works once the lock ends;
* rate limits are shared by the workers (counted in the database);
* ``serve --dev`` generates a key once, warns, and reuses it; without ``--dev`` a missing or
  short ``FLIPDECK_SECRET_KEY`` stops the server at once, naming the variable.

The PostgreSQL cases run when ``FLIPDECK_TEST_DATABASE_URL`` is set (each gets a throwaway
database). Every server is stopped and every database dropped, pass or fail. The whole file takes
about a minute on two cores; scrypt at N=2^17 (0.3 s a hash) is most of it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from flipdeck.server import tokens
from tests.server.conftest import PG_URL, STRONG_PASSWORD
from tests.server.live import (
    cli,
    free_port,
    live_server,
    postgres_database,
    serve_command,
    server_env,
    sql,
    start,
)

pytestmark = pytest.mark.skipif(
    not __import__("pathlib").Path("/proc/self/stat").exists(),
    reason="the live tests find gunicorn's workers through Linux /proc",
)

DEFAULT_HASH = "scrypt$ln=17,r=8,p=1$"
LOW_MEMORY_HASH = "scrypt$ln=14,r=8,p=5$"


@pytest.fixture(params=["sqlite", "postgresql"])
def live_database(request, tmp_path):
    """An empty database for one live server: a SQLite file, or a fresh PostgreSQL database
    (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'live.db'}"
        return
    if not PG_URL:
        pytest.skip("FLIPDECK_TEST_DATABASE_URL is not set (CI sets it)")
    with postgres_database(PG_URL) as url:
        yield url


def register(server, username: str, **headers: str) -> dict:
    reply = server.request(
        "POST",
        "/v1/auth/register",
        {"username": username, "email": f"{username}@example.com", "password": STRONG_PASSWORD},
        headers=headers,
    )
    assert reply.status == 201, reply.text
    return reply.json


def login(server, username: str, password: str = STRONG_PASSWORD, **headers: str):
    return server.request(
        "POST", "/v1/auth/login", {"username": username, "password": password}, headers=headers
    )


# -- the deployment proof -----------------------------------------------------------------------


def test_two_gunicorn_workers_serve_the_api(live_database, tmp_path):
    """The Dockerfile's command (``serve --workers 2``, which migrates first), natively."""
    env = server_env(live_database, tmp_path / "home")
    with live_server(env, tmp_path / "server.log", workers=2, args=(), run_migrate=False) as srv:
        workers = srv.wait_for_workers(2)
        assert len(workers) == 2, (workers, srv.log())
        assert srv.process.pid not in workers

        assert srv.request("GET", "/ready").json == {"status": "ready"}
        document = srv.request("GET", "/openapi.json")
        assert document.status == 200 and document.json["openapi"] == "3.1.0"
        docs = srv.request("GET", "/docs")
        assert docs.status == 200 and b"/docs/docs.js" in docs.body
        for asset in ("/docs/docs.js", "/docs/docs.css"):  # served locally: works offline
            reply = srv.request("GET", asset)
            assert reply.status == 200 and reply.body, asset
            assert "default-src 'self'" in reply.header("Content-Security-Policy")

        registered = register(srv, "alice")
        signed_in = login(srv, "alice")
        assert signed_in.status == 200, signed_in.text
        assert signed_in.header("Cache-Control") == "no-store"
        pair = signed_in.json
        assert pair["refresh"] != registered["refresh"]

        refreshed = srv.request("POST", "/v1/auth/refresh", {"refresh": pair["refresh"]})
        assert refreshed.status == 200, refreshed.text
        new = refreshed.json

        # a burst of concurrent requests, each on its own connection, spread over the workers
        with ThreadPoolExecutor(8) as pool:
            replies = list(
                pool.map(lambda _: srv.request("GET", "/v1/me", token=new["access"]), range(16))
            )
        assert {r.status for r in replies} == {200}
        assert {r.json["username"] for r in replies} == {"alice"}
        if live_database.startswith("postgresql"):
            # each worker keeps its own pooled connection: both of them served requests
            ((sessions,),) = sql(
                live_database,
                "SELECT COUNT(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            assert sessions >= 2, sessions

        # the spent token is no longer a way in; the old access token of a live family is
        assert srv.request("GET", "/v1/me", token=pair["access"]).status == 200
        assert srv.request("POST", "/v1/auth/logout", {}, token=new["access"]).status == 204
        assert srv.request("GET", "/v1/me", token=new["access"]).status == 401

        stored = sql(
            live_database, 'SELECT password_hash FROM "user" WHERE username = ?', ("alice",)
        )
        assert stored[0][0].startswith(DEFAULT_HASH)  # the production profile, by default
        assert srv.worker_pids() == workers  # no worker crashed and was replaced
    assert srv.process.returncode == 0, srv.log()


# -- A7: a refresh token raced across worker processes ----------------------------------------


RACERS = 20


def test_a7_concurrent_refresh_rotates_exactly_once(live_database, tmp_path):
    # Each racer comes through a trusted proxy with its own client address, so the 20/min
    # per-IP budget of /auth/* (which the configuration may only lower) does not cut the race
    # short: the race is about the token, not about rate limits.
    env = server_env(
        live_database,
        tmp_path / "home",
        FLIPDECK_PASSWORD_PROFILE="low-memory",
        FLIPDECK_TRUSTED_PROXIES="127.0.0.1/32",
    )
    with live_server(env, tmp_path / "server.log", workers=2) as srv:
        assert len(srv.wait_for_workers(2)) == 2, srv.log()
        start_pair = register(srv, "racer", **{"X-Forwarded-For": "198.51.100.200"})
        token = start_pair["refresh"]
        digest = tokens.digest(token)
        barrier = threading.Barrier(RACERS)

        def race(i: int):
            barrier.wait()
            return srv.request(
                "POST",
                "/v1/auth/refresh",
                {"refresh": token},
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            )

        with ThreadPoolExecutor(RACERS) as pool:
            replies = list(pool.map(race, range(RACERS)))

        statuses = sorted(r.status for r in replies)
        assert set(statuses) <= {200, 401}, [(r.status, r.text) for r in replies]
        winners = [r.json for r in replies if r.status == 200]
        assert winners, statuses

        # exactly one request rotated: one conditional write of used_at, by 'rotation'
        (row,) = sql(
            live_database,
            "SELECT consumed_by, used_at, family_id FROM refresh_token WHERE digest = ?",
            (digest,),
        )
        consumed_by, used_at, family_id = row
        assert consumed_by == "rotation" and used_at is not None
        rotations = [e for e in srv.events("refresh_rotated") if "reason" not in e]
        graces = [e for e in srv.events("refresh_rotated") if e.get("reason") == "grace"]
        assert len(rotations) == 1, srv.events("refresh_rotated")
        assert len(graces) == len(winners) - 1
        assert srv.events("refresh_reuse_detected") == []
        # every winner holds a sibling: a fresh token whose parent is the raced one
        children = sql(
            live_database,
            "SELECT digest, used_at FROM refresh_token WHERE parent = ? ORDER BY digest",
            (digest,),
        )
        assert sorted(tokens.digest(w["refresh"]) for w in winners) == [c[0] for c in children]
        assert all(c[1] is None for c in children)
        ((revoked_at,),) = sql(
            live_database, "SELECT revoked_at FROM family WHERE id = ?", (family_id,)
        )
        assert revoked_at is None, "the race must not revoke the family"
        for winner in winners:
            assert srv.request("GET", "/v1/me", token=winner["access"]).status == 200

        # afterwards only the first sibling presented carries on
        first = srv.request(
            "POST",
            "/v1/auth/refresh",
            {"refresh": winners[0]["refresh"]},
            headers={"X-Forwarded-For": "198.51.100.201"},
        )
        assert first.status == 200, first.text
        ((revoked_at,),) = sql(
            live_database, "SELECT revoked_at FROM family WHERE id = ?", (family_id,)
        )
        assert revoked_at is None
        if len(winners) > 1:
            second = srv.request(
                "POST",
                "/v1/auth/refresh",
                {"refresh": winners[1]["refresh"]},
                headers={"X-Forwarded-For": "198.51.100.202"},
            )
            assert second.status == 401, second.text
            ((reason,),) = sql(
                live_database, "SELECT revoke_reason FROM family WHERE id = ?", (family_id,)
            )
            assert reason == "reuse"  # a spent sibling is reuse (security.md rules 9 and 10)


# -- A8: brute force against the production password profile -----------------------------------


WRONG = "not the password at all"
THRESHOLD = 5  # security.md rule 19 (the defaults): 5 failures, then 1 s, doubling


def _lock(database_url: str, name: str):
    rows = sql(
        database_url, "SELECT failures, locked_until FROM login_state WHERE name = ?", (name,)
    )
    return rows[0] if rows else None


def test_a8_brute_force_ends_in_a_lockout_without_hashing(live_database, tmp_path):
    import time

    env = server_env(live_database, tmp_path / "home")  # the default (production) profile
    with live_server(env, tmp_path / "server.log", workers=2) as srv:
        register(srv, "victim")
        for attempt in range(THRESHOLD):
            reply = login(srv, "victim", WRONG)
            assert reply.status == 401, (attempt, reply.text)
            assert reply.json["code"] == "invalid_credentials"
        failures, locked_until = _lock(live_database, "victim")
        assert failures == THRESHOLD and locked_until > 0
        assert len(srv.events("lockout_started")) == 1

        # Keep guessing until a lock with time to spare: a guess that arrives after a lock
        # ended counts (and doubles the next lock); one that arrives during a lock is refused.
        hashed = THRESHOLD
        for _guess in range(8):
            reply = login(srv, "victim", WRONG)
            if reply.status == 401:
                hashed += 1
                continue
            assert reply.status == 429, reply.text
            assert reply.json["code"] == "login_locked"
            failures, locked_until = _lock(live_database, "victim")
            assert failures == hashed  # the refused guess was not counted…
            assert len(srv.events("login_failed")) == hashed  # …nor hashed
            retry_after = int(reply.header("Retry-After"))
            # a lock ends on a whole second, never early: up to one second longer
            assert 1 <= retry_after <= 2 ** (failures - THRESHOLD) + 1
            left = locked_until - time.time()
            if left >= 1.5:
                break
            time.sleep(max(left, 0) + 0.05)
        else:
            pytest.fail(f"no lock with time to spare after {hashed} failures")

        # still locked: the right password is refused too, before any hash
        reply = login(srv, "victim", STRONG_PASSWORD)
        assert reply.status == 429 and reply.json["code"] == "login_locked", reply.text
        assert _lock(live_database, "victim") == (failures, locked_until)
        assert len(srv.events("login_failed")) == hashed

        # once the lock ends the right password works and clears the state
        time.sleep(max(locked_until - time.time(), 0) + 0.2)
        reply = login(srv, "victim")
        assert reply.status == 200, reply.text
        assert _lock(live_database, "victim") is None
        stored = sql(
            live_database, 'SELECT password_hash FROM "user" WHERE username = ?', ("victim",)
        )
        assert stored[0][0].startswith(DEFAULT_HASH)


# -- rate limits hold across workers --------------------------------------------------------------


def test_auth_rate_limit_is_shared_by_the_workers(tmp_path):
    """``FLIPDECK_RATE_AUTH_PER_MINUTE=6``: of 16 concurrent sign-in requests from one address
    spread over two workers, exactly 6 get past the limiter (counted in the database)."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    env = server_env(url, tmp_path / "home", FLIPDECK_RATE_AUTH_PER_MINUTE="6")
    with live_server(env, tmp_path / "server.log", workers=2) as srv:
        assert len(srv.wait_for_workers(2)) == 2, srv.log()
        _not_at_the_end_of_a_minute()
        barrier = threading.Barrier(16)

        def attempt(_):
            barrier.wait()
            return srv.request("POST", "/v1/auth/refresh", {"refresh": "x" * 43})

        with ThreadPoolExecutor(16) as pool:
            statuses = sorted(r.status for r in pool.map(attempt, range(16)))
        assert statuses == [401] * 6 + [429] * 10, statuses


def _not_at_the_end_of_a_minute() -> None:
    """Sleep past a fixed one-minute window's boundary if it is due within 3 s, so a burst
    lands in one window (scheduling only; nothing asserts on time)."""
    import time

    left = 60 - time.time() % 60
    if left < 3:
        time.sleep(left + 0.1)


# -- the secret key: --dev generates and keeps one; production refuses to start without -------


def test_dev_mode_generates_and_reuses_a_key(tmp_path):
    home = tmp_path / "home"
    env = server_env("", home)
    del env["FLIPDECK_SECRET_KEY"]
    del env["FLIPDECK_DATABASE_URL"]  # the development default: a SQLite file in FLIPDECK_HOME
    key_file = home / "server-dev-secret.key"

    port = free_port()
    srv = start(serve_command(port, "--dev"), env, tmp_path / "dev1.log", port)
    try:
        assert len(srv.wait_for_workers(1)) == 1  # one worker (with the reloader)
        assert "warning: using the development secret key" in srv.log()
        assert "FLIPDECK_SECRET_KEY" in srv.log()
        access = register(srv, "devuser")["access"]
    finally:
        srv.stop()
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600
    key = key_file.read_text()
    assert len(bytes.fromhex(key.strip())) == 32
    assert (home / "server.db").exists()

    port = free_port()
    srv = start(serve_command(port, "--dev"), env, tmp_path / "dev2.log", port)
    try:
        assert "warning: using the development secret key" in srv.log()
        # the same key: a token signed by the first run is still valid
        me = srv.request("GET", "/v1/me", token=access)
        assert me.status == 200 and me.json["username"] == "devuser"
    finally:
        srv.stop()
    assert key_file.read_text() == key


@pytest.mark.parametrize("key", [None, "too-short-16byte"])
def test_serve_without_a_proper_key_refuses_to_start(tmp_path, key):
    env = server_env(f"sqlite:///{tmp_path / 'x.db'}", tmp_path / "home")
    if key is None:
        del env["FLIPDECK_SECRET_KEY"]
    else:
        env["FLIPDECK_SECRET_KEY"] = key
    done = cli("serve", "--port", str(free_port()), env=env, timeout=60)
    assert done.returncode != 0
    assert "FLIPDECK_SECRET_KEY" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "home" / "server-dev-secret.key").exists()

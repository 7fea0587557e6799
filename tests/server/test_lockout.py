"""Login lockout and failure budgets with the production limits (security.md rules 17 and 19).

The clock is frozen and advanced by hand; each attempt comes from its own address unless a
test is about addresses, so the per-IP budgets stay out of the way. Hashes are counted by
wrapping the KDF, which is how "no hash is computed while locked" is observed.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import threading

import pytest

from flipdeck.server import logs
from flipdeck.server.config import Limits
from tests.server.conftest import STRONG_PASSWORD, register

WRONG = "not the right passphrase"


@pytest.fixture
def hashes(monkeypatch):
    """Every key derivation the server performs, in order."""
    from flipdeck.server import passwords

    calls = []
    original = passwords._derive

    def counting(password, salt, policy):
        calls.append(policy)
        return original(password, salt, policy)

    monkeypatch.setattr(passwords, "_derive", counting)
    return calls


@pytest.fixture
def addresses():
    """A fresh client address for each call."""
    numbers = itertools.count(1)

    def next_address() -> str:
        n = next(numbers)
        return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"

    return next_address


@pytest.fixture
def server(make_client, addresses):
    """The app with the real default limits, and a login helper."""
    client = make_client(limits=Limits())
    register(client, "alice")

    def attempt(name="alice", password=WRONG, ip=None):
        return client.simulate_post(
            "/v1/auth/login",
            json={"username": name, "password": password},
            remote_addr=ip or addresses(),
        )

    return client, attempt


def assert_locked(response, seconds: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json["code"] == "login_locked"
    assert response.headers["Retry-After"] == str(seconds)


def test_five_failures_lock_one_second_doubling_up_to_fifteen_minutes(
    server, hashes, seconds_clock
):
    """Rule 19: 1 s after the fifth failure, doubling per failure, capped at 900 s; while
    locked even the right password gets 429 with the seconds left and costs no hash."""
    _, attempt = server
    for _ in range(4):
        assert attempt().status_code == 401
    schedule = []
    for failure in range(5, 18):
        assert attempt().status_code == 401  # evaluated: the lock had ended
        delay = min(2 ** (failure - 5), 900)
        before = len(hashes)
        locked = attempt(password=STRONG_PASSWORD)
        assert_locked(locked, delay)
        if delay > 1:
            seconds_clock.advance(delay - 1)
            assert_locked(attempt(password=STRONG_PASSWORD), 1)
        assert len(hashes) == before
        schedule.append(delay)
        seconds_clock.advance(1)
    assert schedule == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    # the right password works once the lock ends, and the success resets the count
    assert attempt(password=STRONG_PASSWORD).status_code == 200
    assert attempt().status_code == 401
    assert attempt(password=STRONG_PASSWORD).status_code == 200


def test_a_success_resets_the_consecutive_count(server):
    """Rule 19: four failures, a success, four failures: still not locked."""
    _, attempt = server
    for _ in range(4):
        assert attempt().status_code == 401
    assert attempt(password=STRONG_PASSWORD).status_code == 200
    for _ in range(4):
        assert attempt().status_code == 401
    assert attempt(password=STRONG_PASSWORD).status_code == 200


def test_unknown_names_lock_exactly_like_known_ones(server, hashes):
    """Rule 19: lockouts are keyed by the normalised login name, known or not, so the lock
    itself tells nothing about whether the account exists."""
    _, attempt = server
    answers = {}
    for name in ("alice", "nobody"):
        for _ in range(5):
            assert attempt(name).status_code == 401
        before = len(hashes)
        answers[name] = attempt(f"  {name.upper()} ")  # the same name, normalised
        assert len(hashes) == before
        assert_locked(answers[name], 1)
    bodies = [{k: v for k, v in r.json.items() if k != "request_id"} for r in answers.values()]
    assert bodies[0] == bodies[1]


def test_at_most_100_failures_per_account_per_hour_are_evaluated(
    make_client, addresses, hashes, seconds_clock
):
    """Rule 19: the hourly budget on its own (the doubling lock is moved out of the way, since
    with it no sequence of attempts reaches 100 failures in an hour)."""
    limits = dataclasses.replace(Limits(), lockout_threshold=10**6)
    client = make_client(limits=limits)
    register(client, "alice")

    def attempt(password=WRONG):
        return client.simulate_post(
            "/v1/auth/login",
            json={"username": "alice", "password": password},
            remote_addr=addresses(),
        )

    before = len(hashes)
    for _ in range(99):
        assert attempt().status_code == 401
    for _ in range(3):  # successes spend nothing of the failure budget
        assert attempt(password=STRONG_PASSWORD).status_code == 200
    assert attempt().status_code == 401  # the hundredth failure is still evaluated
    assert len(hashes) - before == 103
    refused = attempt(password=STRONG_PASSWORD)
    assert refused.status_code == 429
    assert refused.json["code"] == "login_locked"
    assert refused.headers["Retry-After"] == "3600"  # the clock starts on an hour boundary
    assert len(hashes) - before == 103
    seconds_clock.advance(3600)
    assert attempt(password=STRONG_PASSWORD).status_code == 200


def test_fifty_failed_logins_per_ip_per_hour(server, hashes, seconds_clock):
    """Rule 19: from one address, 50 failures across accounts, then 429 without a hash (the
    per-minute sign-in budget of 20 is respected by moving the clock)."""
    _, attempt = server
    ip = "203.0.113.50"
    for n in range(50):
        if n and n % 20 == 0:
            seconds_clock.advance(60)
        assert attempt(f"user{n}", ip=ip).status_code == 401
    before = len(hashes)
    refused = attempt("alice", STRONG_PASSWORD, ip=ip)
    assert refused.status_code == 429
    assert refused.json["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == str(3600 - 120)
    assert len(hashes) == before
    assert attempt("alice", STRONG_PASSWORD, ip="203.0.113.51").status_code == 200


def test_the_sign_in_rate_limit_is_checked_before_hashing(server, hashes):
    """Rule 17: the 21st sign-in within a minute from one address gets 429, unhashed."""
    _, attempt = server
    ip = "203.0.113.60"
    for _ in range(20):
        assert attempt("alice", STRONG_PASSWORD, ip=ip).status_code == 200
    before = len(hashes)
    refused = attempt("alice", STRONG_PASSWORD, ip=ip)
    assert refused.status_code == 429
    assert refused.json["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "60"
    assert len(hashes) == before


def test_concurrent_attempts_never_exceed_the_hourly_budget(make_client, addresses, monkeypatch):
    """Rule 19 under concurrency: the budget is reserved by an atomic increment before any
    hash, so with 2 failures left and 8 wrong attempts in flight at once, exactly 2 reach the
    KDF and the other 6 are refused at once."""
    from flipdeck.server import passwords

    limits = dataclasses.replace(Limits(), lockout_threshold=10**6)
    client = make_client(limits=limits, hash_slots=8)
    register(client, "alice")

    def attempt(results=None):
        response = client.simulate_post(
            "/v1/auth/login",
            json={"username": "alice", "password": WRONG},
            remote_addr=addresses(),
        )
        if results is not None:
            results.append(response)
        return response

    for _ in range(98):
        assert attempt().status_code == 401
    original = passwords._derive
    inside, release = threading.Semaphore(0), threading.Event()

    def held(password, salt, policy):
        inside.release()
        assert release.wait(10)
        return original(password, salt, policy)

    monkeypatch.setattr(passwords, "_derive", held)
    results: list = []
    threads = [threading.Thread(target=attempt, args=(results,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        assert inside.acquire(timeout=10) and inside.acquire(timeout=10)
        deadline = 100
        while len(results) < 6 and deadline:
            threading.Event().wait(0.05)
            deadline -= 1
        assert not inside.acquire(timeout=0.2)  # nobody else got as far as hashing
    finally:
        release.set()
        for thread in threads:
            thread.join(10)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [401, 401] + [429] * 6
    assert {r.json["code"] for r in results if r.status_code == 429} == {"login_locked"}


def test_a_wrong_current_password_counts_towards_the_lockout(server, hashes):
    """A stolen access token cannot guess the password through ``/v1/me/password`` either:
    five wrong current passwords lock the account, for sign-in too."""
    client, attempt = server
    pair = attempt(password=STRONG_PASSWORD).json

    def change(current):
        return client.simulate_post(
            "/v1/me/password",
            json={"current_password": current, "new_password": "a brand new passphrase"},
            headers={"Authorization": f"Bearer {pair['access']}"},
        )

    for _ in range(5):
        assert change(WRONG).json["code"] == "wrong_password"
    before = len(hashes)
    assert_locked(change(STRONG_PASSWORD), 1)
    assert_locked(attempt(password=STRONG_PASSWORD), 1)
    assert len(hashes) == before


def test_lock_and_unlock_are_logged(server, seconds_clock):
    """Rule 19: the fifth failure logs ``lockout_started``; the success after it
    ``lockout_ended``."""
    _, attempt = server
    stream = io.StringIO()
    logs.configure("INFO", stream=stream)
    for _ in range(5):
        attempt()
    seconds_clock.advance(1)
    assert attempt(password=STRONG_PASSWORD).status_code == 200
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    names = [e["event"] for e in lines if e["event"].startswith("lockout")]
    assert names == ["lockout_started", "lockout_ended"]
    assert all(e["login"] == "alice" for e in lines if e["event"].startswith("lockout"))

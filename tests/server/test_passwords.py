"""Password policy, storage and bounded hashing (security.md rules 14–17).

Most hashing here uses cheap scrypt parameters; the one test of the production parameters
computes two hashes (about 0.3 s each). Costs are compared by counting key derivations and
their parameters, never by timing.
"""

from __future__ import annotations

import re
import threading

import pytest

from flipdeck.server.config import PASSWORD_PROFILES, PasswordPolicy
from flipdeck.server.errors import ApiError
from flipdeck.server.passwords import Hasher, check_policy, common_passwords
from tests.server.conftest import FAST, STRONG_PASSWORD, register

BASE = "kq8Vz-3Lm_p0Rt!eW6yN"  # in no common-password list


def of_length(n: int) -> str:
    return (BASE * (n // len(BASE) + 1))[:n]


def accepted(password: str, username="alice", email="alice@example.com") -> bool:
    try:
        check_policy(password, username=username, email=email, pointer="/password")
    except ApiError as error:
        assert error.error.code == "validation_failed"
        assert error.errors[0]["pointer"] == "/password"
        return False
    return True


@pytest.fixture
def derivations(monkeypatch):
    """The parameters of every key derivation performed, in order."""
    from flipdeck.server import passwords

    calls = []
    original = passwords._derive

    def counting(password, salt, policy):
        calls.append(policy)
        return original(password, salt, policy)

    monkeypatch.setattr(passwords, "_derive", counting)
    return calls


def login(client, name="alice", password=STRONG_PASSWORD):
    return client.simulate_post("/v1/auth/login", json={"username": name, "password": password})


def stored_hash(name="alice") -> str:
    from flipdeck.server.db import database
    from flipdeck.server.models import User

    with database.connection_context():
        return User.get(User.username == name).password_hash


# -- rule 14: the policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        (of_length(11), False),
        (of_length(12), True),
        (of_length(64), True),
        (of_length(1024), True),
        (of_length(1025), False),
        ("password1234", False),
        ("Password1234!", False),  # a common password with digits and a symbol added
        ("dragon2024!!", False),
        ("a" * 12, True),  # no composition rules
        ("            ", True),  # spaces are characters like any other
        ("e\u0301" * 11, False),  # 22 code points, 11 after NFKC
        ("e\u0301" * 12, True),
        ("\ufb01" * 6, True),  # the "fi" ligature: 6 code points, 12 after NFKC
    ],
    ids=[
        "11",
        "12",
        "64",
        "1024",
        "1025",
        "password1234",
        "common-with-suffix",
        "dragon2024",
        "no-composition",
        "spaces",
        "nfkc-11",
        "nfkc-12",
        "ligature",
    ],
)
def test_the_policy_table(password, ok):
    """Rule 14: length in code points after NFKC, 12 to 1,024, no common passwords."""
    assert accepted(password) is ok


def test_a_password_equal_to_the_login_name_or_email_is_refused():
    """Rule 14: not the username or address, whatever the case."""
    assert not accepted("alice.liddell", username="alice.liddell")
    assert not accepted("ALICE.LIDDELL", username="alice.liddell")
    assert not accepted("alice@example.com", email="alice@example.com")
    assert accepted("alice.liddell!", username="alice.liddell")


def test_the_bundled_common_list_is_large_enough():
    """Rule 14: at least 3,000 of the most common passwords, checked offline."""
    common = common_passwords()
    assert len(common) >= 3000
    assert {"password", "123456", "qwerty"} <= common


def test_the_policy_applies_through_the_api(client):
    """The limits hold at the API too, and a long password is never truncated."""
    for password, status in ((of_length(11), 422), (of_length(1025), 422)):
        response = client.simulate_post(
            "/v1/auth/register",
            json={"username": "alice", "email": "alice@example.com", "password": password},
        )
        assert response.status_code == status
        assert [e["pointer"] for e in response.json["errors"]] == ["/password"]
    register(client, "alice", password=of_length(1024))
    assert login(client, password=of_length(1024)).status_code == 200
    assert login(client, password=of_length(1023)).status_code == 401  # no truncation


@pytest.mark.parametrize(
    ("registered", "same", "different"),
    [
        (
            "🔑 correct horse 🐎 battery",
            "🔑 correct horse 🐎 battery",
            "🔑 correct horse 🐎 battery ",
        ),
        ("correct horse battery ", "correct horse battery ", "correct horse battery"),
        ("Correct Horse Battery", "Correct Horse Battery", "correct horse battery"),
        # the same text in two Unicode forms: NFKC makes them one password
        ("cafe\u0301 au lait, merci", "caf\u00e9 au lait, merci", "cafe au lait, merci"),
    ],
    ids=["emoji", "trailing-space", "case", "normalisation"],
)
def test_passwords_verify_after_a_round_trip(client, registered, same, different):
    """Any characters; no trimming, no case folding; NFKC-equal forms are the same."""
    register(client, "alice", password=registered)
    assert login(client, password=registered).status_code == 200
    assert login(client, password=same).status_code == 200
    assert login(client, password=different).status_code == 401


# -- rule 15: storage -----------------------------------------------------------------------------


def test_the_production_parameters_are_written_into_the_hash():
    """scrypt N=2^17, r=8, p=1 with a 16-byte salt and a 32-byte output (two real hashes:
    the dummy made at start and this one)."""
    hasher = Hasher(PasswordPolicy(), slots=1, wait=2.0)
    stored = hasher.hash(STRONG_PASSWORD)
    assert re.fullmatch(r"scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}", stored)
    assert not hasher.needs_rehash(stored)
    assert PASSWORD_PROFILES["default"] == PasswordPolicy()
    assert PASSWORD_PROFILES["low-memory"].label == "ln=14,r=8,p=5"


def test_each_hash_has_its_own_salt(client):
    """Rule 15: a random salt per hash, and the parameters in the string."""
    register(client, "alice")
    register(client, "bob")
    alice, bob = stored_hash("alice"), stored_hash("bob")
    assert alice.startswith(f"scrypt${FAST.label}$")
    assert alice.split("$")[2] != bob.split("$")[2]
    assert alice.split("$")[3] != bob.split("$")[3]


def test_an_old_hash_verifies_and_is_replaced_at_the_next_login(make_client):
    """Rule 15: a hash made with other parameters is upgraded after a successful login only."""
    register(make_client(), "alice")
    old = stored_hash()
    assert old.startswith("scrypt$ln=10,r=8,p=1$")
    upgraded = make_client(password=PasswordPolicy(cost=11))
    assert login(upgraded, password="not the password").status_code == 401
    assert stored_hash() == old  # a failure changes nothing
    assert login(upgraded).status_code == 200
    new = stored_hash()
    assert new.startswith("scrypt$ln=11,r=8,p=1$") and new != old
    assert login(upgraded).status_code == 200
    assert stored_hash() == new  # already current: not rehashed again


@pytest.mark.parametrize(
    "stored",
    [
        "bcrypt$2b$12$abcdefghijklmnopqrstuv",
        "scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA",  # beyond maxmem
        "scrypt$ln=10$AAAA$AAAA",
        "scrypt$ln=10,r=8,p=1$!!!!$AAAA",
        "",
    ],
    ids=["other-scheme", "huge-cost", "missing-params", "bad-base64", "empty"],
)
def test_a_damaged_stored_hash_never_matches(stored):
    """A corrupt or foreign hash is a mismatch, never an exception (a 500)."""
    assert Hasher(FAST, slots=1, wait=1.0).verify(STRONG_PASSWORD, stored) is False


# -- rule 16: no difference between an unknown user and a wrong password --------------------------


def test_unknown_user_and_wrong_password_look_and_cost_the_same(client, derivations):
    """Rule 16: same status, body and headers, and one derivation with the same parameters."""
    from flipdeck.server.db import database
    from flipdeck.server.models import User

    register(client, "alice")
    register(client, "carol")
    with database.connection_context():
        User.update(disabled=True).where(User.username == "carol").execute()
    answers = {}
    for name in ("alice", "nobody", "carol"):
        before = len(derivations)
        answers[name] = login(client, name, "a wrong but long password")
        assert derivations[before:] == [FAST]  # one derivation, the configured parameters
    bodies = [{k: v for k, v in r.json.items() if k != "request_id"} for r in answers.values()]
    assert bodies[0] == bodies[1] == bodies[2]
    assert {r.status_code for r in answers.values()} == {401}
    volatile = {"x-request-id", "x-response-time"}
    headers = [
        {k.lower(): v for k, v in r.headers.items() if k.lower() not in volatile}
        for r in answers.values()
    ]
    assert headers[0] == headers[1] == headers[2]


# -- rule 17: bounded hashing ---------------------------------------------------------------------


def test_a_request_without_a_hash_slot_gets_503(make_client, monkeypatch):
    """With one slot held by a hash in progress, another sign-in waits ``hash_wait`` and gets
    503 ``server_busy`` with Retry-After; the held one then completes normally."""
    from flipdeck.server import passwords

    client = make_client(hash_slots=1, hash_wait=0.05)
    register(client, "alice")
    entered, release = threading.Event(), threading.Event()
    original = passwords._derive

    def held(password, salt, policy):
        if not entered.is_set():
            entered.set()
            assert release.wait(10)
        return original(password, salt, policy)

    monkeypatch.setattr(passwords, "_derive", held)
    result = {}
    holder = threading.Thread(target=lambda: result.update(first=login(client)))
    holder.start()
    try:
        assert entered.wait(10)
        busy = [
            login(client),
            client.simulate_post(
                "/v1/auth/register",
                json={"username": "bob", "email": "bob@example.com", "password": STRONG_PASSWORD},
            ),
        ]
    finally:
        release.set()
        holder.join(10)
    for response in busy:
        assert response.status_code == 503
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json["code"] == "server_busy"
        assert int(response.headers["Retry-After"]) >= 1
    assert result["first"].status_code == 200
    assert login(client).status_code == 200  # the slot was given back

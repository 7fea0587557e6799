"""Registration, sign-in and the refresh-token lifecycle (security.md rules 6–12, attack A6).

Every test drives the real app through HTTP with the frozen clock; reuse and grace decisions
are checked by what the tokens can still do afterwards, not by reading the database.
"""

from __future__ import annotations

import io
import json
import re

import jwt
import pytest

from flipdeck.server import logs
from tests.server.conftest import STRONG_PASSWORD, USER_KEYS, bearer, register

PAIR_KEYS = {"access", "refresh", "token_type", "expires_in", "user"}
NEW_PASSWORD = "a different long passphrase"


def capture_logs() -> io.StringIO:
    """Send the server's JSON log lines to a buffer (after ``create_app`` configured them)."""
    stream = io.StringIO()
    logs.configure("INFO", stream=stream)
    return stream


def events(stream: io.StringIO) -> list[str]:
    return [json.loads(line)["event"] for line in stream.getvalue().splitlines()]


def login(client, name="alice", password=STRONG_PASSWORD, **extra):
    return client.simulate_post(
        "/v1/auth/login", json={"username": name, "password": password, **extra}
    )


def refresh(client, token: str):
    return client.simulate_post("/v1/auth/refresh", json={"refresh": token})


def works(client, pair: dict) -> tuple[bool, bool]:
    """Whether the pair's access token and (then) its refresh token are still accepted; the
    refresh is tried last because it consumes the token."""
    access = client.simulate_get("/v1/me", headers=bearer(pair["access"])).status_code == 200
    renewed = refresh(client, pair["refresh"]).status_code == 200
    return access, renewed


def assert_token_response(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "application/json"
    body = response.json
    assert set(body) == PAIR_KEYS
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert set(body["user"]) == USER_KEYS
    return body


# -- registration and sign-in ---------------------------------------------------------------------


def test_register_answers_with_a_token_pair_at_once(client, seconds_clock):
    """Registration signs in at once: the exact token response, not cacheable (rule 5)."""
    response = client.simulate_post(
        "/v1/auth/register",
        json={"username": "Alice", "email": "Alice@Example.com", "password": STRONG_PASSWORD},
    )
    body = assert_token_response(response, 201)
    assert body["user"] == {
        "id": body["user"]["id"],
        "username": "alice",
        "email": "alice@example.com",
        "role": "student",
        "display_name": "Alice",
        "bio": "",
        "avatar_url": "",
        "timezone": "UTC",
        "created_at": "2026-12-01T12:00:00Z",
    }
    # rule 6: an opaque 256-bit string, nothing like a JWT
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", body["refresh"])
    header = jwt.get_unverified_header(body["access"])
    claims = jwt.decode(body["access"], options={"verify_signature": False})
    assert header["alg"] == "HS256" and header["typ"] == "at+jwt" and header["kid"]
    assert set(claims) == {"iss", "aud", "sub", "sid", "ver", "jti", "iat", "exp"}
    assert claims["sub"] == body["user"]["id"]
    assert claims["aud"] == "flipdeck-api" and claims["iss"] == "flipdeck"
    assert claims["iat"] == int(seconds_clock()) and claims["exp"] == claims["iat"] + 900
    me = client.simulate_get("/v1/me", headers=bearer(body["access"]))
    assert me.status_code == 200 and me.json == body["user"]


def test_login_takes_the_username_or_the_email(client):
    """Either name signs in, case-insensitively, and each sign-in is its own family."""
    register(client, "alice")
    by_name = assert_token_response(login(client, "ALICE"))
    by_mail = assert_token_response(
        client.simulate_post(
            "/v1/auth/login", json={"email": "Alice@example.com", "password": STRONG_PASSWORD}
        )
    )
    assert by_name["user"]["username"] == by_mail["user"]["username"] == "alice"
    sids = {
        jwt.decode(p["access"], options={"verify_signature": False})["sid"]
        for p in (by_name, by_mail)
    }
    assert len(sids) == 2  # one family per sign-in


@pytest.mark.parametrize(
    "body",
    [
        {"password": STRONG_PASSWORD},
        {"username": "alice", "email": "alice@example.com", "password": STRONG_PASSWORD},
        {"username": "alice"},
        {"username": "alice", "password": STRONG_PASSWORD, "remember": True},
    ],
    ids=["neither", "both", "no-password", "unknown-field"],
)
def test_login_needs_exactly_one_name_and_a_password(client, body):
    """An ambiguous or incomplete sign-in is a 422 naming the member, before any hash."""
    register(client, "alice")
    response = client.simulate_post("/v1/auth/login", json=body)
    assert response.status_code == 422
    assert response.json["code"] == "validation_failed"
    assert all(e["pointer"].startswith("/") for e in response.json["errors"])


def test_a_wrong_password_is_refused(client):
    """A wrong password is 401 ``invalid_credentials`` and no tokens."""
    register(client, "alice")
    response = login(client, password="not the right passphrase")
    assert response.status_code == 401
    assert response.json["code"] == "invalid_credentials"
    assert "access" not in response.json


def test_duplicate_username_or_email_is_a_conflict(client):
    """Names and addresses are unique whatever their case, each with its own code."""
    register(client, "alice")
    taken = client.simulate_post(
        "/v1/auth/register",
        json={"username": "ALICE", "email": "other@example.com", "password": STRONG_PASSWORD},
    )
    assert taken.status_code == 409
    assert taken.json["code"] == "username_taken"
    mail = client.simulate_post(
        "/v1/auth/register",
        json={"username": "bob", "email": "Alice@EXAMPLE.com", "password": STRONG_PASSWORD},
    )
    assert mail.status_code == 409
    assert mail.json["code"] == "email_taken"


def test_an_email_is_matched_whatever_its_case_or_unicode_form(client):
    """Sign-in looks names up NFKC-normalised and case-folded; registration stores e-mail
    addresses in that form, so "Straße" and "STRASSE" are one address."""
    pair = register(client, "fritz", email="Fritz.Straße@Example.com")
    assert pair["user"]["email"] == "fritz.strasse@example.com"
    for given in ("fritz.straße@example.com", "FRITZ.STRASSE@EXAMPLE.COM"):
        response = client.simulate_post(
            "/v1/auth/login", json={"email": given, "password": STRONG_PASSWORD}
        )
        assert response.status_code == 200, given
    again = client.simulate_post(
        "/v1/auth/register",
        json={
            "username": "other",
            "email": "FRITZ.STRASSE@example.com",
            "password": STRONG_PASSWORD,
        },
    )
    assert again.status_code == 409 and again.json["code"] == "email_taken"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"username": "a", "email": "a@example.com", "password": STRONG_PASSWORD}, "/username"),
        ({"username": "alice", "email": "nope", "password": STRONG_PASSWORD}, "/email"),
        ({"username": "alice", "email": "a@example.com", "password": "short"}, "/password"),
        ({"username": "alice", "email": "a@example.com"}, "/password"),
        (
            {"username": "alice", "email": "a@x.io", "password": STRONG_PASSWORD, "role": "admin"},
            "/role",
        ),
        (
            {"username": "al\x00ce", "email": "a@example.com", "password": STRONG_PASSWORD},
            "/username",
        ),
    ],
    ids=["username", "email", "weak-password", "no-password", "role", "nul"],
)
def test_register_validation_names_the_member(client, body, pointer):
    """Bad input, forbidden fields (``role``) and NUL are 422 with the member's pointer."""
    response = client.simulate_post("/v1/auth/register", json=body)
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in response.json["errors"]]


# -- refresh and rotation -------------------------------------------------------------------------


def test_refresh_rotates_within_the_family(client):
    """Rule 7: a new pair for the same device; the presented token is spent."""
    first = register(client, "alice")
    second = assert_token_response(refresh(client, first["refresh"]))
    assert second["refresh"] != first["refresh"] and second["access"] != first["access"]

    def sid(pair):
        return jwt.decode(pair["access"], options={"verify_signature": False})["sid"]

    assert sid(first) == sid(second)
    assert client.simulate_get("/v1/me", headers=bearer(second["access"])).status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 422), ({"refresh": 5}, 422), ({"refresh": "x" * 600}, 422), ({"refresh": "x"}, 401)],
    ids=["missing", "not-a-string", "too-long", "unknown"],
)
def test_refresh_input_is_checked(client, body, status):
    """A malformed refresh body is 422; a well-formed unknown token 401."""
    response = client.simulate_post("/v1/auth/refresh", json=body)
    assert response.status_code == status
    if status == 401:
        assert response.json["code"] == "invalid_refresh_token"


def test_a_family_lives_seven_days_whatever_the_rotations(client, seconds_clock):
    """Rule 7: rotating every hour for 8 days, the refresh fails 7 days after login."""
    token = register(client, "alice")["refresh"]
    outcome = {}
    for hour in range(1, 8 * 24 + 1):
        seconds_clock.advance(3600)
        response = refresh(client, token)
        outcome[hour] = response.status_code
        if response.status_code == 200:
            token = response.json["refresh"]
    assert {h for h, s in outcome.items() if s == 200} == set(range(1, 7 * 24))
    assert {h for h, s in outcome.items() if s == 401} == set(range(7 * 24, 8 * 24 + 1))


def test_the_family_lifetime_also_ends_its_access_tokens(client, seconds_clock):
    """Rules 4 and 7: an access token issued minutes before the family's 7 days are up dies
    with the family, before its own 15 minutes."""
    pair = register(client, "alice")
    seconds_clock.advance(7 * 86_400 - 300)
    late = assert_token_response(refresh(client, pair["refresh"]))
    assert client.simulate_get("/v1/me", headers=bearer(late["access"])).status_code == 200
    seconds_clock.advance(301)
    assert client.simulate_get("/v1/me", headers=bearer(late["access"])).status_code == 401


def test_reuse_of_a_rotated_token_revokes_the_family(client):
    """Rule 9 / A6: RT1 → RT2 → RT3, then RT1 again: the whole family dies, logged once."""
    rt1 = register(client, "alice")
    other_device = assert_token_response(login(client))
    rt2 = assert_token_response(refresh(client, rt1["refresh"]))
    rt3 = assert_token_response(refresh(client, rt2["refresh"]))
    stream = capture_logs()
    replay = refresh(client, rt1["refresh"])
    assert replay.status_code == 401
    assert replay.json["code"] == "invalid_refresh_token"
    for pair in (rt3, rt2):
        assert client.simulate_get("/v1/me", headers=bearer(pair["access"])).status_code == 401
    assert refresh(client, rt3["refresh"]).status_code == 401
    assert refresh(client, rt2["refresh"]).status_code == 401
    assert events(stream).count("refresh_reuse_detected") == 1
    assert works(client, other_device) == (True, True)


def test_a_just_consumed_token_is_reuse_after_31_seconds(client, seconds_clock):
    """Rules 9–10 / A6: RT2 presented 31 s after it was consumed revokes the family."""
    rt1 = register(client, "alice")
    rt2 = assert_token_response(refresh(client, rt1["refresh"]))
    rt3 = assert_token_response(refresh(client, rt2["refresh"]))
    seconds_clock.advance(31)
    stream = capture_logs()
    assert refresh(client, rt2["refresh"]).status_code == 401
    assert works(client, rt3) == (False, False)
    assert events(stream).count("refresh_reuse_detected") == 1


def test_a_lost_response_is_retried_within_the_grace_window(client, seconds_clock):
    """Rule 10: re-presenting the just-consumed token within 30 s gives a sibling pair."""
    rt1 = register(client, "alice")
    lost = assert_token_response(refresh(client, rt1["refresh"]))
    seconds_clock.advance(30)
    stream = capture_logs()
    retry = assert_token_response(refresh(client, rt1["refresh"]))
    assert retry["refresh"] not in (lost["refresh"], rt1["refresh"])
    sid = jwt.decode(retry["access"], options={"verify_signature": False})["sid"]
    assert sid == jwt.decode(lost["access"], options={"verify_signature": False})["sid"]
    assert "refresh_reuse_detected" not in events(stream)
    assert works(client, retry) == (True, True)


@pytest.mark.parametrize("first", ["lost", "retry"])
def test_the_first_sibling_used_becomes_the_head(client, first):
    """Rule 10: of two siblings, the one used first carries on; the other counts as consumed,
    so presenting it later is reuse (rule 9) and ends the family."""
    rt1 = register(client, "alice")
    siblings = {
        "lost": assert_token_response(refresh(client, rt1["refresh"])),
        "retry": assert_token_response(refresh(client, rt1["refresh"])),
    }
    head = assert_token_response(refresh(client, siblings[first]["refresh"]))
    other = siblings["retry" if first == "lost" else "lost"]
    stream = capture_logs()
    assert refresh(client, other["refresh"]).status_code == 401
    assert events(stream).count("refresh_reuse_detected") == 1
    assert works(client, head) == (False, False)


def test_grace_never_covers_an_older_token(client):
    """Rule 10: once a sibling has been rotated, the grandparent is reuse even within 30 s."""
    rt1 = register(client, "alice")
    assert_token_response(refresh(client, rt1["refresh"]))
    retry = assert_token_response(refresh(client, rt1["refresh"]))
    head = assert_token_response(refresh(client, retry["refresh"]))
    assert refresh(client, rt1["refresh"]).status_code == 401
    assert works(client, head) == (False, False)


# -- logout, password change, disabled accounts ---------------------------------------------------


def test_logout_ends_one_device_and_logout_all_ends_every_one(client):
    """Rule 11 on two devices; both answer 204 and the old tokens die at once (rule 4)."""
    from flipdeck.server.db import database
    from flipdeck.server.models import User

    a = register(client, "alice")
    b = assert_token_response(login(client, device_name="phone"))
    stream = capture_logs()
    out = client.simulate_post("/v1/auth/logout", headers=bearer(a["access"]))
    assert out.status_code == 204 and out.text == ""
    assert works(client, a) == (False, False)
    b_access_ok, _ = works(client, b)
    assert b_access_ok
    b = assert_token_response(login(client))
    a = assert_token_response(login(client))
    with database.connection_context():
        version = User.get(User.username == "alice").token_version
    everywhere = client.simulate_post("/v1/auth/logout-all", headers=bearer(b["access"]))
    assert everywhere.status_code == 204
    assert works(client, a) == (False, False)
    assert works(client, b) == (False, False)
    with database.connection_context():
        assert User.get(User.username == "alice").token_version == version + 1
    assert {"logout", "logout_all"} <= set(events(stream))
    fresh = assert_token_response(login(client))
    assert jwt.decode(fresh["access"], options={"verify_signature": False})["ver"] == version + 1


def test_a_password_change_signs_the_other_devices_out(client):
    """Rule 12: B's refresh and access fail; A carries on with its new pair."""
    a = register(client, "alice")
    b = assert_token_response(login(client))
    stream = capture_logs()
    response = client.simulate_post(
        "/v1/me/password",
        json={"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(a["access"]),
    )
    a2 = assert_token_response(response)
    assert client.simulate_get("/v1/me", headers=bearer(b["access"])).status_code == 401
    assert refresh(client, b["refresh"]).status_code == 401
    assert client.simulate_get("/v1/me", headers=bearer(a["access"])).status_code == 401  # ver
    assert works(client, a2) == (True, True)
    assert "password_changed" in events(stream)
    assert login(client).status_code == 401
    assert_token_response(login(client, password=NEW_PASSWORD))


def test_a_password_change_needs_the_current_password(client):
    """Rule 12: without the right current password, or with a weak new one, nothing changes."""
    a = register(client, "alice")
    b = assert_token_response(login(client))
    wrong = client.simulate_post(
        "/v1/me/password",
        json={"current_password": "not the current one!", "new_password": NEW_PASSWORD},
        headers=bearer(a["access"]),
    )
    # 403, not 401: the session is fine, only the password given is wrong (a 401 would tell
    # the client to refresh its tokens or sign in again)
    assert (wrong.status_code, wrong.json["code"]) == (403, "wrong_password")
    weak = client.simulate_post(
        "/v1/me/password",
        json={"current_password": STRONG_PASSWORD, "new_password": "password1234"},
        headers=bearer(a["access"]),
    )
    assert weak.status_code == 422
    assert [e["pointer"] for e in weak.json["errors"]] == ["/new_password"]
    assert works(client, b) == (True, True)  # nothing changed
    assert_token_response(login(client))


@pytest.mark.parametrize("how", ["disabled", "deleted"])
def test_disabling_or_deleting_an_account_revokes_everything(client, how):
    """Rule 11: the account's tokens stop working at once, and it cannot sign in."""
    from flipdeck.server.db import database
    from flipdeck.server.models import User

    pair = register(client, "alice")
    with database.connection_context():
        if how == "disabled":
            User.update(disabled=True).where(User.username == "alice").execute()
        else:
            User.delete().where(User.username == "alice").execute()
    assert works(client, pair) == (False, False)
    assert login(client).status_code == 401


# -- only digests are stored ----------------------------------------------------------------------


def test_no_token_or_token_substring_is_stored(client):
    """Rule 6: after login and several refreshes, no table holds a token or any 16-character
    piece of one."""
    from flipdeck.server.db import database

    seen = [register(client, "alice")]
    seen.append(assert_token_response(login(client)))
    for _ in range(4):
        seen.append(assert_token_response(refresh(client, seen[-1]["refresh"])))
    client.simulate_post("/v1/auth/logout", headers=bearer(seen[-1]["access"]))
    with database.connection_context():
        dump = []
        for table in database.get_tables():
            cursor = database.execute_sql(f'SELECT * FROM "{table}"')
            dump.extend(repr(row) for row in cursor.fetchall())
    text = "\n".join(dump)
    assert "alice" in text  # the dump did read the tables
    secrets_ = [p["refresh"] for p in seen] + [p["access"] for p in seen]
    for secret in secrets_:
        for start in range(len(secret) - 15):
            piece = secret[start : start + 16]
            assert piece not in text, piece

"""Access tokens under attack (security.md rules 1–5, attacks A1–A5).

Forged tokens are built by hand (header and payload segments, an HMAC over them) so that each
differs from a token the server would accept in exactly one way; a baseline forgery with the
real key and the real header is accepted, which proves the forging itself is sound.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flipdeck.core.ids import uuid7
from flipdeck.server.config import Config
from flipdeck.server.tokens import InvalidToken, TokenIssuer, key_id
from tests.server.conftest import SECRET, bearer, register

CHALLENGE = 'Bearer realm="flipdeck"'
INVALID = 'Bearer realm="flipdeck", error="invalid_token"'
ATTACKER_KEY = b"attacker-controlled-key-0123456789abcdef"
# any RSA public key: the classic confusion attack signs HS256 with it as the HMAC secret
PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxLOg9gfhXYn2MiYRHtrh
PIfU/tPzK+s4lYoJs5koSrxh/qfCU0r4izjAz5PendaRUkaAoPpBIHwRkQiAIUV4
qgXUf0yZGIiYCJRDxZnzRHBar/469ZsDyaDHz+jzMOfQWRCoF1tYvAZON71MVEMp
T8nuXuC+hJckul2b1B+L3YFhFY/8c5XkLGB0LURhtDSZtJT3NAxE2w4eOZAmM6bF
64oKVCMyloZMRo/i7ruYseOyGZIclypdexLBBliWvrFWY+RYDZO7040JusZdvhJ/
BgtTF9o507jU+SDVp8FA4O9nm+gQbtkwUvy2HsdW7i9sej9+DiAJ6TWrWQ3r1QDJ
hQIDAQAB
-----END PUBLIC KEY-----
"""


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def sign(header: dict, claims: dict, key: bytes, digest=hashlib.sha256) -> str:
    """A JWS compact token with an HMAC signature computed here (PyJWT refuses some keys)."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def real_parts(token: str) -> tuple[dict, dict]:
    """The header and claims of a token the server issued."""
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def session(client, monkeypatch):
    """Alice signed in, Bob registered, and a counter of how often ``GET /v1/me`` ran."""
    from flipdeck.server.resources import me

    calls = []
    original = me.user_json

    def spy(user):
        calls.append(user.id)
        return original(user)

    monkeypatch.setattr(me, "user_json", spy)
    alice = register(client, "alice")
    bob = register(client, "bob")
    header, claims = real_parts(alice["access"])
    return {
        "client": client,
        "alice": alice,
        "bob": bob,
        "header": header,
        "claims": claims,
        "calls": calls,
    }


def me(client, token: str):
    return client.simulate_get("/v1/me", headers=bearer(token))


def assert_invalid(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == INVALID
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["code"] == "invalid_token"


def test_the_hand_forged_baseline_is_accepted(session):
    """The forging helper reproduces a valid token, so each variant below is one change."""
    token = sign(session["header"], session["claims"], SECRET)
    response = me(session["client"], token)
    assert response.status_code == 200
    assert response.json["username"] == "alice"
    assert session["calls"] == [session["alice"]["user"]["id"]]


def _without(mapping: dict, name: str) -> dict:
    return {k: v for k, v in mapping.items() if k != name}


def _alg_none(h, c):
    return f"{segment({'alg': 'none', 'typ': 'at+jwt'})}.{segment(c)}."


def _alg_none_with_kid(h, c):
    return f"{segment({**h, 'alg': 'none'})}.{segment(c)}."


def _alg_none_capitalised(h, c):
    return f"{segment({**h, 'alg': 'None'})}.{segment(c)}."


def _rs256_signed_by_a_real_rsa_key(h, c):
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(c, private, algorithm="RS256", headers={"typ": "at+jwt"})


def _missing(name: str):
    return lambda h, c: sign(h, _without(c, name), SECRET)


FORGERIES = {
    # A1
    "alg-none": _alg_none,
    "alg-none-with-kid": _alg_none_with_kid,
    "alg-None": _alg_none_capitalised,
    # A2: other algorithms, with the real secret
    "hs384-real-secret": lambda h, c: sign({**h, "alg": "HS384"}, c, SECRET, hashlib.sha384),
    "hs512-real-secret": lambda h, c: sign({**h, "alg": "HS512"}, c, SECRET, hashlib.sha512),
    "rs256-header-hmac-signature": lambda h, c: sign({**h, "alg": "RS256"}, c, SECRET),
    "rs256-real-rsa-signature": _rs256_signed_by_a_real_rsa_key,
    "hs256-pem-public-key-as-secret": lambda h, c: sign(h, c, PUBLIC_PEM),
    "hs256-pem-public-key-no-kid": lambda h, c: sign(_without(h, "kid"), c, PUBLIC_PEM),
    # A2: key-locating headers pointing at the attacker's key
    "jku": lambda h, c: sign(
        {**_without(h, "kid"), "jku": "https://evil.example/jwks.json", "kid": "evil"},
        c,
        ATTACKER_KEY,
    ),
    "jwk": lambda h, c: sign(
        {**_without(h, "kid"), "jwk": {"kty": "oct", "k": b64(ATTACKER_KEY)}},
        c,
        ATTACKER_KEY,
    ),
    "x5u": lambda h, c: sign(
        {**_without(h, "kid"), "x5u": "https://evil.example/cert.pem"}, c, ATTACKER_KEY
    ),
    "kid-path-traversal": lambda h, c: sign({**h, "kid": "../../etc/passwd"}, c, SECRET),
    "kid-dev-null-empty-key": lambda h, c: sign({**h, "kid": "/dev/null"}, c, b""),
    "kid-not-a-string": lambda h, c: sign({**h, "kid": 1}, c, SECRET),
    "another-key-real-kid": lambda h, c: sign(h, c, ATTACKER_KEY),
    # A4: audience, issuer, type
    "aud-other": lambda h, c: sign(h, {**c, "aud": "other"}, SECRET),
    "aud-list-other": lambda h, c: sign(h, {**c, "aud": ["other"]}, SECRET),
    "aud-missing": lambda h, c: sign(h, _without(c, "aud"), SECRET),
    "iss-evil": lambda h, c: sign(h, {**c, "iss": "evil"}, SECRET),
    "iss-missing": lambda h, c: sign(h, _without(c, "iss"), SECRET),
    "typ-JWT": lambda h, c: sign({**h, "typ": "JWT"}, c, SECRET),
    "typ-missing": lambda h, c: sign(_without(h, "typ"), c, SECRET),
    # rule 3: every claim required, in the shape the server issues
    **{f"{name}-missing": _missing(name) for name in ("exp", "iat", "sub", "jti", "sid", "ver")},
    "sub-integer": lambda h, c: sign(h, {**c, "sub": 1}, SECRET),
    "sid-not-an-id": lambda h, c: sign(h, {**c, "sid": "device"}, SECRET),
    "ver-string": lambda h, c: sign(h, {**c, "ver": str(c["ver"])}, SECRET),
    "ver-boolean": lambda h, c: sign(h, {**c, "ver": False}, SECRET),
    "ver-float": lambda h, c: sign(h, {**c, "ver": float(c["ver"])}, SECRET),
    "exp-string": lambda h, c: sign(h, {**c, "exp": str(c["exp"])}, SECRET),
    "ver-bumped": lambda h, c: sign(h, {**c, "ver": c["ver"] + 1}, SECRET),
    "sid-of-no-family": lambda h, c: sign(h, {**c, "sid": uuid7()}, SECRET),
    # A5: tampering
    "flipped-signature-character": lambda h, c: _flip(sign(h, c, SECRET)),
    "empty-signature": lambda h, c: sign(h, c, SECRET).rsplit(".", 1)[0] + ".",
    "not-a-jwt": lambda h, c: "garbage",
}


def _flip(token: str) -> str:
    """Change one character in the middle of the signature (the last character may only
    carry padding bits, so changing it can leave the decoded signature unchanged)."""
    head, signature = token.rsplit(".", 1)
    middle = len(signature) // 2
    replacement = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{replacement}{signature[middle + 1 :]}"


def test_forged_tokens_are_refused_before_any_handler_runs(session):
    """A1, A2, A4, A5 and the rule 3 claim set: each forgery gets 401 ``invalid_token`` with
    the challenge, and the handler never runs (one app for all of them, to stay quick)."""
    accepted = {}
    for name, forge in FORGERIES.items():
        response = me(session["client"], forge(dict(session["header"]), dict(session["claims"])))
        ok = (
            response.status_code == 401
            and response.headers.get("WWW-Authenticate") == INVALID
            and response.headers.get("Content-Type") == "application/problem+json"
            and response.json["code"] == "invalid_token"
        )
        if not ok:
            accepted[name] = (response.status_code, response.text[:120])
    assert accepted == {}
    assert session["calls"] == []


def test_a_changed_subject_with_the_old_signature_never_reads_the_other_user(session):
    """A5: Alice's token with Bob's id and her signature is refused; Bob's data is not read."""
    header_part, _payload, signature = session["alice"]["access"].split(".")
    claims = {**session["claims"], "sub": session["bob"]["user"]["id"]}
    token = f"{header_part}.{segment(claims)}.{signature}"
    response = me(session["client"], token)
    assert_invalid(response)
    assert "bob" not in response.text
    assert session["calls"] == []


def test_a_role_claim_in_a_valid_token_is_ignored(session):
    """Rule 4: authorization reads the role from the database, never from the token."""
    token = sign(session["header"], {**session["claims"], "role": "admin"}, SECRET)
    response = session["client"].simulate_get("/v1/users", headers=bearer(token))
    assert response.status_code == 403
    assert response.json["code"] == "forbidden"


@pytest.mark.parametrize(
    ("change", "accepted"),
    [
        ({"exp": -6}, False),  # beyond the 5 s leeway
        ({"exp": -4}, True),  # within it
        ({"exp": 1}, True),
        ({"nbf": 60}, False),
        ({"nbf": 4}, True),
        ({"iat": 60}, False),  # issued in the future
    ],
    ids=["exp-6s", "exp-4s", "exp+1s", "nbf+60s", "nbf+4s", "iat+60s"],
)
def test_times_are_checked_against_the_frozen_clock(session, seconds_clock, change, accepted):
    """A3: times relative to the server's clock, with a leeway of at most 5 s."""
    now = int(seconds_clock())
    claims = {**session["claims"], **{k: now + v for k, v in change.items()}}
    response = me(session["client"], sign(session["header"], claims, SECRET))
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert_invalid(response)


def test_an_issued_token_lives_fifteen_minutes(session, seconds_clock):
    """Rule 4: access tokens expire after 15 min (plus the leeway), family alive or not."""
    token = session["alice"]["access"]
    assert session["claims"]["exp"] - session["claims"]["iat"] == 15 * 60
    seconds_clock.advance(15 * 60 + 4)
    assert me(session["client"], token).status_code == 200
    seconds_clock.advance(2)
    assert_invalid(me(session["client"], token))


def test_a_missing_token_gets_the_bare_challenge(session):
    """Rule 5: 401 with ``WWW-Authenticate: Bearer realm="flipdeck"`` and no error code."""
    response = session["client"].simulate_get("/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert response.json["code"] == "authentication_required"


def test_a_token_in_the_query_string_or_body_is_treated_as_absent(session):
    """Rule 5: bearer transport only; ``?access_token=`` and body members are ignored."""
    token = session["alice"]["access"]
    client = session["client"]
    response = client.simulate_get("/v1/me", params={"access_token": token})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    response = client.simulate_patch("/v1/me", json={"access_token": token, "bio": "x"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert session["calls"] == []


@pytest.mark.parametrize(
    "value",
    ["Basic YWxpY2U6cGFzcw==", "Bearer", "Bearer ", "Token abc", "Bearer a b", "{token}"],
    ids=["basic", "bare-scheme", "scheme-and-space", "other-scheme", "two-values", "no-scheme"],
)
def test_a_malformed_authorization_header_is_400(session, value):
    """Rule 5: a header that is not ``Bearer <token>`` is ``invalid_request``."""
    header = value.format(token=session["alice"]["access"])
    response = session["client"].simulate_get("/v1/me", headers={"Authorization": header})
    assert response.status_code == 400
    assert response.json["code"] == "invalid_request"
    assert session["calls"] == []


def test_the_scheme_is_case_insensitive(session):
    """RFC 6750 / RFC 9110: ``bearer`` is the same scheme as ``Bearer``."""
    token = session["alice"]["access"]
    response = session["client"].simulate_get(
        "/v1/me", headers={"Authorization": f"bearer {token}"}
    )
    assert response.status_code == 200


def test_a_refresh_token_is_no_access_token(session):
    """Rule 6: the opaque refresh token sent as Bearer is refused."""
    assert_invalid(me(session["client"], session["alice"]["refresh"]))


def test_an_access_token_is_no_refresh_token(session):
    """Rule 6: an access token posted to ``/auth/refresh`` is refused, and the family lives."""
    client = session["client"]
    response = client.simulate_post(
        "/v1/auth/refresh", json={"refresh": session["alice"]["access"]}
    )
    assert response.status_code == 401
    assert response.json["code"] == "invalid_refresh_token"
    assert me(client, session["alice"]["access"]).status_code == 200


OLD_KEY = b"an-older-signing-key-still-accepted-0123456789"


def test_a_retired_key_verifies_only_while_it_is_configured(make_client):
    """Rule 2: ``kid`` selects one of the configured keys by exact lookup."""
    old = make_client(secret_key=OLD_KEY)
    pair = register(old, "carol")
    assert jwt.get_unverified_header(pair["access"])["kid"] == key_id(OLD_KEY)
    rotated = make_client(old_secret_keys=(OLD_KEY,))
    assert me(rotated, pair["access"]).status_code == 200
    assert_invalid(me(make_client(), pair["access"]))


# -- the claims matrix, against the decoder alone (no database) -----------------------------------

NOW = 1_796_126_400
VALID = object()
MISSING = object()

CLAIM_CHOICES = {
    "iss": [VALID, MISSING, "evil", "", 1],
    "aud": [VALID, MISSING, "other", ["other"], 1],
    "sub": [VALID, MISSING, 123, "not-a-uuid", ""],
    "sid": [VALID, MISSING, 5, "device"],
    "ver": [VALID, MISSING, "0", 0.0, True, None],
    "jti": [VALID, MISSING, 5],
    "iat": [VALID, MISSING, "now", NOW + 3600, None],
    "exp": [VALID, MISSING, NOW - 60, "later", None],
}
HEADER_CHOICES = {"typ": [VALID, MISSING, "JWT", "jwt"], "alg": [VALID, "HS512", "none"]}


def _valid_claims() -> dict:
    return {
        "iss": "flipdeck",
        "aud": "flipdeck-api",
        "sub": uuid7(),
        "sid": uuid7(),
        "ver": 0,
        "jti": uuid7(),
        "iat": NOW,
        "exp": NOW + 900,
    }


@settings(max_examples=300, deadline=None)
@given(
    claims=st.fixed_dictionaries({k: st.sampled_from(v) for k, v in CLAIM_CHOICES.items()}),
    header=st.fixed_dictionaries({k: st.sampled_from(v) for k, v in HEADER_CHOICES.items()}),
)
def test_only_the_exact_claim_shape_is_accepted(claims, header):
    """Rule 3: any one claim or header member missing or wrong, and the token is refused."""
    issuer = TokenIssuer(
        Config(database_url="sqlite:///unused", secret_key=SECRET, clock=lambda: float(NOW))
    )
    chosen = _valid_claims()
    for name, choice in claims.items():
        if choice is MISSING:
            del chosen[name]
        elif choice is not VALID:
            chosen[name] = choice
    head = {"alg": "HS256", "typ": "at+jwt", "kid": key_id(SECRET)}
    if header["typ"] is MISSING:
        del head["typ"]
    elif header["typ"] is not VALID:
        head["typ"] = header["typ"]
    if header["alg"] == "none":
        token = f"{segment({**head, 'alg': 'none'})}.{segment(chosen)}."
    elif header["alg"] == "HS512":
        token = sign({**head, "alg": "HS512"}, chosen, SECRET, hashlib.sha512)
    else:
        token = sign(head, chosen, SECRET)
    valid = all(c is VALID for c in claims.values()) and all(c is VALID for c in header.values())
    if valid:
        assert issuer.decode(token)["sub"] == chosen["sub"]
    else:
        with pytest.raises(InvalidToken):
            issuer.decode(token)

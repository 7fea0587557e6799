"""Request protection: body limits, strict JSON, JSON-only writes, client addresses behind
proxies, rate limits in the database and in Redis, and CORS (security.md rules 18 and 20–23,
attacks A9–A11 and A16).

Rate limits run with the production defaults. Redis keys are shared by every test process, so
each test uses its own client address (and users have fresh ids), and the counters of other
runs can never be seen.
"""

from __future__ import annotations

import gzip
import io
import ipaddress
import json
import uuid

import falcon.testing
import pytest

from flipdeck.server.config import Limits
from flipdeck.server.middleware import client_ip
from tests.server.conftest import STRONG_PASSWORD, bearer, register

LIMIT = 1 << 20
REDIS_URL = "redis://127.0.0.1:6379/15"


class CountingStream(io.BytesIO):
    """A request body that records how much of it the server read."""

    consumed = 0

    def read(self, size=-1):
        data = super().read(size)
        self.consumed += len(data)
        return data


def call_wsgi(client, path: str, stream, *, content_length=None, headers=None):
    """Call the app with a body stream and exact control of ``CONTENT_LENGTH`` (the test client
    always derives one from the body, so a chunked request cannot be expressed through it)."""
    env = falcon.testing.create_environ(path=path, method="POST", headers=headers or {})
    env["wsgi.input"] = stream
    env.pop("CONTENT_LENGTH", None)
    if content_length is not None:
        env["CONTENT_LENGTH"] = str(content_length)
    start = falcon.testing.StartResponseMock()
    body = b"".join(client.app(env, start))
    status = int(start.status.split()[0])
    return status, {k.lower(): v for k, v in start.headers}, json.loads(body)


def post_raw(client, body: bytes, content_type: str | None = "application/json", **kwargs):
    headers = {"Content-Type": content_type} if content_type else {}
    return client.simulate_post("/v1/auth/login", body=body, headers=headers, **kwargs)


def assert_problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["code"] == code
    assert response.json["status"] == status


def unique_ip() -> str:
    """An address no other test (or earlier run sharing Redis) has used."""
    return str(ipaddress.IPv6Address(uuid.uuid4().int))


# -- A9: body size --------------------------------------------------------------------------------


def test_a_declared_length_over_the_limit_is_refused_before_reading(client):
    """A9: 413 from the Content-Length alone; not a byte of the body is read."""
    stream = CountingStream(b"{}" * 10)
    status, headers, body = call_wsgi(
        client,
        "/v1/auth/login",
        stream,
        content_length=LIMIT + 1,
        headers={"Content-Type": "application/json"},
    )
    assert status == 413 and body["code"] == "payload_too_large"
    assert headers["content-type"] == "application/problem+json"
    assert stream.consumed == 0


def test_a_body_of_exactly_the_limit_is_read(client):
    """The boundary: 1 MiB is allowed (and then refused for its content, 422)."""
    prefix, suffix = b'{"username": "', b'", "password": "x"}'
    body = prefix + b"a" * (LIMIT - len(prefix) - len(suffix)) + suffix
    assert len(body) == LIMIT
    response = post_raw(client, body)
    assert_problem(response, 422, "validation_failed")
    assert response.json["errors"][0]["pointer"] == "/username"


def test_a_chunked_body_over_the_limit_is_refused_after_limit_plus_one_bytes(client):
    """A9: without a length the body is read to at most limit + 1 bytes, then 413."""
    stream = CountingStream(b"[" + b" " * (LIMIT + 100_000) + b"]")
    status, _, body = call_wsgi(
        client,
        "/v1/auth/login",
        stream,
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert status == 413 and body["code"] == "payload_too_large"
    assert stream.consumed <= LIMIT + 1


def test_a_small_chunked_body_is_read_and_parsed(client):
    """A body without Content-Length is still the body (not an empty one)."""
    register(client, "alice")
    payload = json.dumps({"username": "alice", "password": STRONG_PASSWORD}).encode()
    status, _, body = call_wsgi(
        client,
        "/v1/auth/login",
        CountingStream(payload),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert status == 200, body
    assert body["user"]["username"] == "alice"


# -- A10: malformed JSON --------------------------------------------------------------------------

MALFORMED = {
    "truncated": b'{"username": "al',
    "invalid-utf-8": b'{"username": "\xff\xfe", "password": "x"}',
    "nan": b'{"username": NaN, "password": "x"}',
    "infinity": b'{"username": "a", "password": Infinity}',
    "minus-infinity": b'{"username": -Infinity}',
    "array-nesting-10000": b"[" * 10_000 + b"]" * 10_000,
    "object-nesting-10000": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "lone-surrogate": b'{"username": "alice", "password": "\\ud800 is not text at all"}',
    "trailing-garbage": b'{"username": "alice"} {}',
    "empty-with-length": b" ",
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_json_is_400(client, name):
    """A10: each kind of broken JSON is 400 ``malformed_json``, never a 500."""
    assert_problem(post_raw(client, MALFORMED[name]), 400, "malformed_json")


def test_nesting_beyond_the_servers_bound_is_refused(client):
    """Deep nesting is refused by a bound of the server's own, far below what the parser
    would survive (so later code never recurses through a hostile document)."""
    from flipdeck.server.middleware import _MAX_DEPTH

    deepest = b"[" * _MAX_DEPTH + b"]" * _MAX_DEPTH
    assert_problem(post_raw(client, deepest), 422, "validation_failed")
    deeper = b'{"a":' * (_MAX_DEPTH + 1) + b"1" + b"}" * (_MAX_DEPTH + 1)
    assert_problem(post_raw(client, deeper), 400, "malformed_json")
    tricky = b'{"a": "' + b"[" * 500 + b'"}'  # brackets inside a string do not count
    assert_problem(post_raw(client, tricky), 422, "validation_failed")


@pytest.mark.parametrize("body", [b"[]", b'"alice"', b"1", b"null", b"[{}]"])
def test_a_body_that_is_not_an_object_is_422(client, body):
    """A10: valid JSON of the wrong shape is a 422 at the empty pointer."""
    response = post_raw(client, body)
    assert_problem(response, 422, "validation_failed")
    assert response.json["errors"] == [{"pointer": "", "detail": "must be an object"}]


def test_a_huge_string_where_a_short_one_belongs(client):
    """A 1 MiB string: 413 when it pushes the body over the limit, else 422, never 500."""
    over = json.dumps({"username": "a" * LIMIT, "password": "x"}).encode()
    assert_problem(post_raw(client, over), 413, "payload_too_large")
    under = json.dumps({"username": "a" * (LIMIT - 100), "password": "x"}).encode()
    assert_problem(post_raw(client, under), 422, "validation_failed")


def test_nul_characters_are_refused_where_they_would_be_stored(client):
    """PostgreSQL cannot store NUL: a name, a device label or a profile field with one is a
    422 (a password may contain anything, since only its hash is stored)."""
    pair = register(client, "alice")
    login = {"username": "ali\x00ce", "password": STRONG_PASSWORD}
    assert_problem(client.simulate_post("/v1/auth/login", json=login), 422, "validation_failed")
    profile = client.simulate_patch(
        "/v1/me", json={"display_name": "a\x00b"}, headers=bearer(pair["access"])
    )
    assert_problem(profile, 422, "validation_failed")
    odd = client.simulate_post(
        "/v1/auth/login",
        json={"username": "alice", "password": "nul\x00inside-the-password"},
        headers={"User-Agent": "agent\x00with nul"},
    )
    assert_problem(odd, 401, "invalid_credentials")


# -- A11: content types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"username=alice&password=x"),
        ("text/plain", b'{"username": "alice", "password": "x"}'),
        (None, b'{"username": "alice", "password": "x"}'),
        ("application/json; charset=latin-1", b'{"username": "alice", "password": "x"}'),
        ("multipart/form-data; boundary=x", b"--x--"),
        ("application/jsonp", b'{"username": "alice"}'),
    ],
    ids=["form", "text-plain", "missing", "latin-1", "multipart", "jsonp"],
)
def test_only_json_bodies_are_accepted(client, content_type, body):
    """A11 / rule 22: anything but UTF-8 JSON is 415, forms included."""
    assert_problem(post_raw(client, body, content_type), 415, "unsupported_media_type")


def gzip_post(client, body: bytes, encoding: str = "gzip"):
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    return client.simulate_post("/v1/auth/login", body=body, headers=headers)


def test_a_gzip_body_is_read_as_its_json(client):
    """A sync push goes compressed; any JSON body may (``x-gzip`` is gzip's old name)."""
    register(client, "alice")
    body = json.dumps({"username": "alice", "password": STRONG_PASSWORD}).encode()
    assert gzip_post(client, gzip.compress(body)).status_code == 200
    assert gzip_post(client, gzip.compress(body), "x-gzip").status_code == 200


def test_a_gzip_bomb_is_refused_once_the_limit_is_decompressed(client, monkeypatch):
    """A9 through compression: 64 MiB of JSON in a 64 KB body is 413, and inflating it stops
    one byte past the limit (the whole expansion is never made)."""
    import zlib

    asked = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def decompress(self, data, max_length=0):
            asked.append(max_length)
            return self.inner.decompress(data, max_length)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(zlib, "decompressobj", lambda *a, **k: Counting(real(*a, **k)))
    bomb = gzip.compress(b'{"username": "' + b"0" * (64 * LIMIT) + b'"}')
    assert len(bomb) < LIMIT // 10
    assert_problem(gzip_post(client, bomb), 413, "payload_too_large")
    assert asked == [LIMIT + 1]


@pytest.mark.parametrize(
    "body",
    [b"not gzip at all", gzip.compress(b'{"username": "alice"}')[:-6], gzip.compress(b"{}") * 2],
    ids=["garbage", "cut-short", "two-streams"],
)
def test_a_broken_gzip_body_is_400(client, body):
    assert_problem(gzip_post(client, body), 400, "malformed_json")


def test_a_content_coding_the_server_does_not_read_is_415(client):
    assert_problem(gzip_post(client, b"\x00", "br"), 415, "unsupported_media_type")


def test_json_with_a_utf8_charset_is_accepted(client):
    """The one parameter allowed: ``charset=utf-8``, in any case."""
    register(client, "alice")
    body = json.dumps({"username": "alice", "password": STRONG_PASSWORD}).encode()
    assert post_raw(client, body, "application/json; charset=UTF-8").status_code == 200


def test_a_form_patch_is_refused_before_authentication(client):
    """A11: the content type is checked before anything reads a form body."""
    response = client.simulate_patch(
        "/v1/me",
        body=b"role=admin",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415, "unsupported_media_type")


# -- A16: X-Forwarded-For -------------------------------------------------------------------------


class FakeRequest:
    def __init__(self, peer: str, forwarded: str | None) -> None:
        self.remote_addr = peer
        self._forwarded = forwarded

    def get_header(self, name):
        return self._forwarded if name == "X-Forwarded-For" else None


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "expected"),
    [
        ((), "203.0.113.9", "6.6.6.6", "203.0.113.9"),
        (("10.0.0.0/8",), "203.0.113.9", "6.6.6.6", "203.0.113.9"),
        (("10.0.0.0/8",), "10.0.0.5", "6.6.6.6, 7.7.7.7", "7.7.7.7"),
        (("10.0.0.0/8",), "10.0.0.5", "6.6.6.6, 7.7.7.7, 10.0.0.3", "7.7.7.7"),
        (("10.0.0.0/8",), "10.0.0.5", None, "10.0.0.5"),
        (("10.0.0.0/8",), "10.0.0.5", "10.1.1.1, 10.2.2.2", "10.0.0.5"),
        (("10.0.0.0/8", "2001:db8::/32"), "2001:db8::1", "2001:db8::2, 7.7.7.7", "7.7.7.7"),
    ],
    ids=["no-proxies", "untrusted-peer", "trusted", "chain", "no-header", "all-trusted", "v6"],
)
def test_the_client_address_is_the_rightmost_untrusted_entry(proxies, peer, forwarded, expected):
    """Rule 20: the peer unless it is a trusted proxy; never the client-supplied left end."""
    from flipdeck.server.config import Config
    from tests.server.conftest import SECRET

    config = Config(
        database_url="sqlite:///unused",
        secret_key=SECRET,
        trusted_proxies=tuple(ipaddress.ip_network(p) for p in proxies),
    )
    assert client_ip(FakeRequest(peer, forwarded), config) == expected


def _spend_auth_budget(client, **kwargs):
    """The 20 sign-in requests a minute allows, each refused cheaply (an unknown token)."""
    for _ in range(20):
        response = client.simulate_post("/v1/auth/refresh", json={"refresh": "x"}, **kwargs)
        assert response.status_code == 401, response.text


def test_a_rotating_forwarded_header_from_an_untrusted_peer_changes_nothing(make_client):
    """A16: without trusted proxies the header is ignored; the peer is limited."""
    client = make_client(limits=Limits())
    for n in range(20):
        response = client.simulate_post(
            "/v1/auth/refresh",
            json={"refresh": "x"},
            remote_addr="203.0.113.9",
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        )
        assert response.status_code == 401
    blocked = client.simulate_post(
        "/v1/auth/refresh",
        json={"refresh": "x"},
        remote_addr="203.0.113.9",
        headers={"X-Forwarded-For": "198.51.100.200"},
    )
    assert_problem(blocked, 429, "rate_limited")


def test_behind_a_trusted_proxy_the_rightmost_untrusted_entry_is_limited(make_client):
    """A16: rotating the left-most (client-written) entry does not escape the limit; another
    real client behind the same proxy is not affected."""
    client = make_client(limits=Limits(), trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
    for n in range(20):
        response = client.simulate_post(
            "/v1/auth/refresh",
            json={"refresh": "x"},
            remote_addr="10.0.0.5",
            headers={"X-Forwarded-For": f"6.6.6.{n}, 198.51.100.7"},
        )
        assert response.status_code == 401
    blocked = client.simulate_post(
        "/v1/auth/refresh",
        json={"refresh": "x"},
        remote_addr="10.0.0.5",
        headers={"X-Forwarded-For": "9.9.9.9, 198.51.100.7"},
    )
    assert_problem(blocked, 429, "rate_limited")
    other = client.simulate_post(
        "/v1/auth/refresh",
        json={"refresh": "x"},
        remote_addr="10.0.0.5",
        headers={"X-Forwarded-For": "9.9.9.9, 198.51.100.8"},
    )
    assert other.status_code == 401


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_an_ipv6_client_spends_the_budget_of_its_64(address, key):
    """One subscriber holds a whole /64; rotating addresses inside it must buy nothing."""
    from flipdeck.server.ratelimit import address_key

    assert address_key(address) == key


def test_addresses_of_one_ipv6_prefix_share_their_limit(make_client):
    """Rotating addresses inside one /64 does not escape the per-IP limit."""
    client = make_client(limits=Limits())
    for n in range(20):
        response = client.simulate_post(
            "/v1/auth/refresh", json={"refresh": "x"}, remote_addr=f"2001:db8:1:2::{n + 1:x}"
        )
        assert response.status_code == 401
    blocked = client.simulate_post(
        "/v1/auth/refresh", json={"refresh": "x"}, remote_addr="2001:db8:1:2:ffff::1"
    )
    assert_problem(blocked, 429, "rate_limited")
    elsewhere = client.simulate_post(
        "/v1/auth/refresh", json={"refresh": "x"}, remote_addr="2001:db8:1:3::1"
    )
    assert elsewhere.status_code == 401


# -- rate limits, in the database and in Redis ----------------------------------------------------


@pytest.fixture(params=["database", "redis"])
def limited(request, make_client):
    """The app with the real limits, counting in the database or in Redis, and an address of
    its own."""
    if request.param == "redis":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        except redis.RedisError:
            pytest.skip("no Redis on 127.0.0.1:6379")
        client = make_client(limits=Limits(), redis_url=REDIS_URL)
    else:
        client = make_client(limits=Limits())
    return client, unique_ip(), request.param


def _rate_rows() -> int:
    from flipdeck.server.db import database
    from flipdeck.server.models import RateWindow

    with database.connection_context():
        return RateWindow.select().count()


def _assert_counted_where_configured(kind: str, ip: str) -> None:
    """The counters are where the configuration says: Redis keys or database rows."""
    if kind == "redis":
        import redis

        from flipdeck.server.ratelimit import address_key

        keys = redis.Redis.from_url(REDIS_URL).keys(f"flipdeck:rate:*{address_key(ip)}*")
        assert keys
        assert _rate_rows() == 0
    else:
        assert _rate_rows() > 0


def _register_from(client, name: str, ip: str) -> dict:
    response = client.simulate_post(
        "/v1/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": STRONG_PASSWORD},
        remote_addr=ip,
    )
    assert response.status_code == 201, response.text
    return response.json


def test_sign_in_endpoints_allow_20_requests_a_minute_per_ip(limited, seconds_clock):
    """Rule 18: the 21st sign-in request in a minute is 429 until the minute ends."""
    client, ip, kind = limited
    _spend_auth_budget(client, remote_addr=ip)
    blocked = client.simulate_post("/v1/auth/refresh", json={"refresh": "x"}, remote_addr=ip)
    assert_problem(blocked, 429, "rate_limited")
    assert blocked.headers["Retry-After"] == "60"
    other = client.simulate_post("/v1/auth/refresh", json={"refresh": "x"}, remote_addr=unique_ip())
    assert other.status_code == 401
    seconds_clock.advance(60)
    again = client.simulate_post("/v1/auth/refresh", json={"refresh": "x"}, remote_addr=ip)
    assert again.status_code == 401
    _assert_counted_where_configured(kind, ip)


def test_anonymous_requests_allow_100_an_hour_per_ip(limited, seconds_clock):
    """Requests refused for a missing token count as anonymous too (so they are limited)."""
    client, ip, kind = limited
    for _minute in range(3):
        _spend_auth_budget(client, remote_addr=ip)
        seconds_clock.advance(60)
    for _ in range(40):
        assert client.simulate_get("/v1/me", remote_addr=ip).status_code == 401
    blocked = client.simulate_get("/v1/me", remote_addr=ip)
    assert_problem(blocked, 429, "rate_limited")
    assert blocked.headers["Retry-After"] == str(3600 - 180)
    refresh = client.simulate_post("/v1/auth/refresh", json={"refresh": "x"}, remote_addr=ip)
    assert_problem(refresh, 429, "rate_limited")
    assert client.simulate_get("/v1/me", remote_addr=unique_ip()).status_code == 401
    _assert_counted_where_configured(kind, ip)


def test_a_signed_in_user_gets_1000_requests_an_hour(limited):
    """Rule 18: per user, whatever the address; other users are unaffected."""
    client, ip, kind = limited
    name = f"u{uuid.uuid4().hex[:12]}"
    pair, other = (_register_from(client, n, ip) for n in (name, f"{name}x"))
    headers = bearer(pair["access"])
    for _ in range(1000):
        response = client.simulate_get("/v1/me", headers=headers, remote_addr=ip)
        assert response.status_code == 200
    blocked = client.simulate_get("/v1/me", headers=headers, remote_addr=ip)
    assert_problem(blocked, 429, "rate_limited")
    assert blocked.headers["Retry-After"] == "3600"
    assert client.simulate_get("/v1/me", headers=bearer(other["access"])).status_code == 200
    _assert_counted_where_configured(kind, ip)


def test_an_unreachable_redis_fails_closed_with_503(make_client):
    """Without its counter store the server refuses (never unlimited, never a 500)."""
    client = make_client(limits=Limits(), redis_url="redis://127.0.0.1:1/0")
    response = client.simulate_post("/v1/auth/refresh", json={"refresh": "x"})
    assert_problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"]
    assert client.simulate_get("/health").status_code == 200


# -- CORS -----------------------------------------------------------------------------------------

ORIGIN = "https://app.example"


def test_a_configured_origin_is_allowed_and_others_are_not(make_client):
    """CORS for configured origins only, on errors too."""
    client = make_client(cors_origins=(ORIGIN,))
    allowed = client.simulate_get("/health", headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Request-ID" in allowed.headers["Access-Control-Expose-Headers"]
    denied = client.simulate_get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers
    problem = client.simulate_get("/v1/me", headers={"Origin": ORIGIN})
    assert problem.status_code == 401
    assert problem.headers["Access-Control-Allow-Origin"] == ORIGIN  # readable by the app


def test_a_preflight_works_without_a_token(make_client):
    """A browser's preflight needs no token and names the requested method and headers."""
    client = make_client(cors_origins=(ORIGIN,))
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    response = client.simulate_options("/v1/me", headers=preflight)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    evil = client.simulate_options(
        "/v1/me", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in evil.headers


def test_no_origin_is_allowed_unless_configured(client):
    """No CORS configuration, no CORS headers."""
    response = client.simulate_get("/health", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers

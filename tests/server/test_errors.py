"""Errors and operational headers (security.md rules 24, 25, 34 and 35).

Every error, whatever raised it (Falcon's router, the middleware, a service, an unexpected
exception, an unreachable database), is one RFC 9457 problem document with a stable code and the
request id. A database outage is simulated for real: on SQLite another connection holds an
exclusive lock; on PostgreSQL the app talks through a local TCP relay that the test cuts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
import socket
import sqlite3
import threading
from urllib.parse import urlparse, urlunparse

import pytest

from flipdeck.protocol.errors import ERRORS
from flipdeck.server import logs
from tests.server.conftest import LOOSE, STRONG_PASSWORD, bearer, register

BASE_KEYS = {"type", "title", "status", "detail", "code", "request_id"}
SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def capture_logs() -> io.StringIO:
    stream = io.StringIO()
    logs.configure("INFO", stream=stream)
    return stream


def log_entries(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def assert_problem(response, status: int, code: str) -> dict:
    """The one problem shape: exactly these members, ``status`` equal to the HTTP status."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json
    expected = BASE_KEYS | ({"errors"} if status == 422 else set())
    assert set(body) == expected
    assert body["status"] == status
    assert body["code"] == code and code in ERRORS and ERRORS[code].status == status
    assert body["type"] == "https://flipdeck.dev/problems/" + code.replace("_", "-")
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.text
    return body


class Boom:
    """A route that fails unexpectedly, with a secret in the exception's message."""

    auth = None
    rate = None

    def on_get(self, req, resp):
        raise RuntimeError("lookup failed: secret=hunter2 while reading the ledger")


def test_an_unknown_route_is_a_404_problem(client):
    """Falcon's router errors are problems too (rule 24)."""
    assert_problem(client.simulate_get("/v1/nothing-here"), 404, "not_found")
    assert_problem(client.simulate_post("/v1/nothing-here", json={}), 404, "not_found")


def test_a_wrong_method_is_a_405_problem_with_allow(client):
    """RFC 9110 §15.5.6: a 405 says which methods exist."""
    response = client.simulate_delete("/v1/auth/login")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_an_unexpected_exception_is_a_generic_500_and_a_scrubbed_log_line(client):
    """Rule 25: the client sees nothing of the error; the log has the traceback and the
    request id, with the secret scrubbed."""
    client.app.add_route("/boom", Boom())
    stream = capture_logs()
    response = client.simulate_get("/boom", headers={"X-Request-ID": "boom-request-0001"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "boom-request-0001"
    assert body["detail"] == "Something went wrong on our side."
    for leak in ("hunter2", "secret", "RuntimeError", "ledger", "Traceback", "on_get"):
        assert leak not in response.text
    entries = log_entries(stream)
    [error] = [e for e in entries if e["event"] == "internal_error"]
    assert error["level"] == "error"
    assert error["request_id"] == "boom-request-0001"
    assert "Traceback" in error["exception"] and "RuntimeError" in error["exception"]
    assert "on_get" in error["exception"]
    assert "hunter2" not in stream.getvalue()
    [access] = [e for e in entries if e["event"] == "request"]
    assert access["status"] == 500 and access["route"] == "/boom"


def test_every_error_has_the_one_problem_shape(make_client):
    """Rule 24 across the codes the accounts API answers with."""
    client = make_client(limits=dataclasses.replace(LOOSE, auth_per_minute=40))
    client.app.add_route("/boom", Boom())
    pair = register(client, "alice")
    device = client.simulate_get("/v1/me/devices", headers=bearer(pair["access"]))
    cases = [
        (client.simulate_post("/v1/auth/login", body=b"{", headers=_json()), 400, "malformed_json"),
        (
            client.simulate_get("/v1/me", headers={"Authorization": "Basic x"}),
            400,
            "invalid_request",
        ),
        (client.simulate_get("/v1/me"), 401, "authentication_required"),
        (client.simulate_get("/v1/me", headers=bearer("x.y.z")), 401, "invalid_token"),
        (
            client.simulate_post("/v1/auth/refresh", json={"refresh": "nope"}),
            401,
            "invalid_refresh_token",
        ),
        (
            client.simulate_post(
                "/v1/auth/login", json={"username": "alice", "password": "wrong password!"}
            ),
            401,
            "invalid_credentials",
        ),
        (client.simulate_get("/v1/users", headers=bearer(pair["access"])), 403, "forbidden"),
        (
            client.simulate_delete(
                "/v1/me/devices/" + "0" * 8 + "-0000-7000-8000-" + "0" * 12,
                headers=bearer(pair["access"]),
            ),
            404,
            "not_found",
        ),
        (client.simulate_put("/v1/me", json={}, headers=bearer(pair["access"])), 405, None),
        (
            client.simulate_post(
                "/v1/auth/register",
                json={"username": "alice", "email": "x@example.com", "password": STRONG_PASSWORD},
            ),
            409,
            "username_taken",
        ),
        (
            client.simulate_post("/v1/auth/login", body=b" " * ((1 << 20) + 1), headers=_json()),
            413,
            "payload_too_large",
        ),
        (client.simulate_post("/v1/auth/login", body=b"a=b", headers=_form()), 415, None),
        (
            client.simulate_patch("/v1/me", json={"role": "admin"}, headers=bearer(pair["access"])),
            422,
            None,
        ),
        (client.simulate_get("/boom"), 500, "internal_error"),
    ]
    assert device.status_code == 200
    for response, status, code in cases:
        default = {
            405: "method_not_allowed",
            415: "unsupported_media_type",
            422: "validation_failed",
        }
        assert_problem(response, status, code or default[status])
    for _ in range(40):
        last = client.simulate_post("/v1/auth/refresh", json={"refresh": "nope"})
        if last.status_code == 429:
            break
    assert_problem(last, 429, "rate_limited")
    assert int(last.headers["Retry-After"]) > 0


def _json() -> dict:
    return {"Content-Type": "application/json"}


def _form() -> dict:
    return {"Content-Type": "application/x-www-form-urlencoded"}


def test_falcons_own_serializer_also_writes_problems():
    """Should Falcon ever serialize an error itself, the body is the same problem document."""
    import falcon
    import falcon.testing

    from flipdeck.server.errors import serialize_http_error

    req = falcon.testing.create_req()
    req.context.request_id = "serializer-test-1"
    resp = falcon.Response()
    serialize_http_error(req, resp, falcon.HTTPNotFound())
    assert resp.content_type == "application/problem+json"
    body = json.loads(resp.text)
    assert set(body) == BASE_KEYS
    assert (body["status"], body["code"], body["request_id"]) == (
        404,
        "not_found",
        "serializer-test-1",
    )


def test_a_validation_problem_points_at_each_member(client):
    """Rule 23: one 422 lists every offending member by JSON Pointer."""
    pair = register(client, "alice")
    response = client.simulate_patch(
        "/v1/me",
        json={"timezone": "Mars/Olympus", "avatar_url": "javascript:alert(1)", "role": "admin"},
        headers=bearer(pair["access"]),
    )
    body = assert_problem(response, 422, "validation_failed")
    assert {e["pointer"] for e in body["errors"]} == {"/timezone", "/avatar_url", "/role"}
    assert all(isinstance(e["detail"], str) and e["detail"] for e in body["errors"])


# -- request id and timing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inbound", "kept"),
    [
        ("req-12345678", True),
        ("A" * 64, True),
        ("a.b_c-d.e_f", True),
        ("abc1234", False),  # 7 characters
        ("A" * 65, False),
        ("bad\r\nX-Injected: 1", False),
        ('id-with-"quotes"', False),
        ("path/like/id/12345", False),
        ("", False),
    ],
    ids=[
        "sane",
        "64",
        "punctuation",
        "too-short",
        "too-long",
        "crlf",
        "quotes",
        "slashes",
        "empty",
    ],
)
def test_the_request_id_is_kept_only_when_sane(client, inbound, kept):
    """Rule 34: echoed in the header, the problem body and every log line of the request."""
    stream = capture_logs()
    response = client.simulate_get("/v1/me", headers={"X-Request-ID": inbound})
    rid = response.headers["X-Request-ID"]
    assert SANE_ID.match(rid)
    assert (rid == inbound) is kept
    assert response.json["request_id"] == rid
    entries = log_entries(stream)
    assert entries and all(e["request_id"] == rid for e in entries)


def test_a_generated_request_id_is_new_each_time(client):
    """Generated ids are unique and pass the same pattern as accepted ones."""
    first = client.simulate_get("/health").headers["X-Request-ID"]
    second = client.simulate_get("/health").headers["X-Request-ID"]
    assert first != second and SANE_ID.match(first) and SANE_ID.match(second)


def test_every_response_says_how_long_it_took(client):
    """``X-Response-Time`` on successes and errors alike."""
    for response in (client.simulate_get("/health"), client.simulate_get("/nowhere")):
        assert re.fullmatch(r"\d+\.\d{2}ms", response.headers["X-Response-Time"])


def test_health_and_ready_answer(client):
    """The probes answer without authentication when all is well."""
    assert client.simulate_get("/health").json == {"status": "ok"}
    ready = client.simulate_get("/ready")
    assert ready.status_code == 200 and ready.json == {"status": "ready"}


# -- the database goes away and comes back --------------------------------------------------------


class Relay:
    """A TCP relay to PostgreSQL that the test can cut (connections dropped, nothing listening
    on its port) and restore on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        listener.settimeout(0.05)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                downstream, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            downstream.settimeout(None)
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [downstream, upstream]
            for a, b in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


@pytest.fixture
def outage(request, make_config, database_url):
    """``(client, cut, restore)`` for the parametrized database."""
    import falcon.testing

    from flipdeck.server.app import create_app

    if database_url.startswith("sqlite"):
        path = database_url[len("sqlite:///") :]
        holder = sqlite3.connect(path, isolation_level=None)
        client = falcon.testing.TestClient(create_app(make_config(db_timeout=0.2)))
        yield client, lambda: holder.execute("BEGIN EXCLUSIVE"), lambda: holder.execute("ROLLBACK")
        holder.close()
        return
    parts = urlparse(database_url)
    relay = Relay(parts.hostname or "127.0.0.1", parts.port or 5432)
    relay.start()
    url = urlunparse(
        parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{relay.port}")
    )
    client = falcon.testing.TestClient(create_app(make_config(database_url=url, db_timeout=1.0)))
    yield client, relay.stop, relay.start
    relay.stop()
    from flipdeck.server.db import database

    database.close_all()


def test_an_unreachable_database_is_503_and_the_app_recovers(outage):
    """Rule 35 / A19: 503 ``database_unavailable`` with Retry-After while the database is
    gone, ``/health`` still up, and the same app object works again once it is back."""
    client, cut, restore = outage
    pair = register(client, "alice")
    headers = bearer(pair["access"])
    assert client.simulate_get("/v1/me", headers=headers).status_code == 200
    cut()
    # writes (on SQLite a held lock blocks writers only: WAL readers carry on)
    for response in (
        client.simulate_patch("/v1/me", json={"bio": "offline"}, headers=headers),
        client.simulate_post(
            "/v1/auth/login", json={"username": "alice", "password": STRONG_PASSWORD}
        ),
        client.simulate_patch("/v1/me", json={"bio": "still offline"}, headers=headers),
    ):
        assert_problem(response, 503, "database_unavailable")
        assert int(response.headers["Retry-After"]) > 0
    assert client.simulate_get("/health").status_code == 200
    restore()
    assert client.simulate_get("/v1/me", headers=headers).status_code == 200
    assert client.simulate_get("/ready").status_code == 200
    login = client.simulate_post(
        "/v1/auth/login", json={"username": "alice", "password": STRONG_PASSWORD}
    )
    assert login.status_code == 200


def test_ready_reports_an_unreachable_database():
    """``/ready`` asks the database; an address nothing listens on is a 503 problem."""
    import falcon.testing

    from flipdeck.server.app import create_app
    from flipdeck.server.config import Config
    from tests.server.conftest import SECRET

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    config = Config(
        database_url=f"postgresql://postgres@127.0.0.1:{port}/none",
        secret_key=SECRET,
        db_timeout=1.0,
        log_level="WARNING",
    )
    client = falcon.testing.TestClient(create_app(config))
    assert_problem(client.simulate_get("/ready"), 503, "database_unavailable")
    assert client.simulate_get("/health").status_code == 200

"""Structured logs under attack (security.md rules 33–34, attack A15).

A run of sign-ins, refreshes, failures and forgeries is logged into a buffer: every line must
be one JSON object with the request's id, no secret may appear anywhere, CR/LF in client
values cannot forge a line, and each auth event is logged by the request that caused it.
"""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from flipdeck.server import logs
from flipdeck.server.config import Limits
from tests.server.conftest import STRONG_PASSWORD, bearer

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NEW_PASSWORD = "a different long passphrase"
WRONG = "this is not the password"


class Run:
    """A client whose every response is remembered, with the secrets it saw."""

    def __init__(self, client) -> None:
        self.client = client
        self.responses = []
        self.secrets = {STRONG_PASSWORD, NEW_PASSWORD, WRONG}
        self.ip = 0

    def call(self, method: str, path: str, *, ip=None, **kwargs):
        self.ip += 1
        kwargs.setdefault("remote_addr", ip or f"192.0.2.{self.ip % 250 + 1}")
        response = self.client.simulate_request(method, path, **kwargs)
        self.responses.append(response)
        if response.status_code in (200, 201) and "refresh" in (response.json or {}):
            self.secrets |= {response.json["access"], response.json["refresh"]}
        return response

    def register(self, name: str):
        return self.call(
            "POST",
            "/v1/auth/register",
            json={"username": name, "email": f"{name}@example.com", "password": STRONG_PASSWORD},
        ).json

    def login(self, name: str, password: str = STRONG_PASSWORD, **kwargs):
        return self.call(
            "POST", "/v1/auth/login", json={"username": name, "password": password}, **kwargs
        )

    def refresh(self, token: str, **kwargs):
        return self.call("POST", "/v1/auth/refresh", json={"refresh": token}, **kwargs)


@pytest.fixture
def run(make_client):
    client = make_client(limits=Limits(), log_level="INFO")
    stream = io.StringIO()
    logs.configure("INFO", stream=stream)
    return Run(client), stream


def entries(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def rid(response) -> str:
    return response.headers["X-Request-ID"]


def test_a_run_of_auth_traffic_logs_json_lines_without_secrets(run):
    """A15 and rule 33: JSON lines only, no secrets, each event by its own request."""
    r, stream = run
    caused = {}  # event -> the response of the request that must have logged it
    alice = r.register("alice")
    caused["login_succeeded"] = r.login("alice")
    second = caused["login_succeeded"].json
    caused["login_failed"] = r.login("alice", WRONG)
    for _ in range(5):  # the fifth consecutive failure starts the lock
        caused["lockout_started"] = r.login("mallory", WRONG)
    rotated = r.refresh(second["refresh"])
    caused["refresh_rotated"] = rotated
    r.refresh(rotated.json["refresh"])
    caused["refresh_reuse_detected"] = r.refresh(second["refresh"])  # two rotations back
    forged = alice["access"].rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    r.secrets.add(forged)
    caused["authz_denied"] = r.call("GET", "/v1/me", headers=bearer(forged))
    r.call("GET", "/v1/me", headers=bearer(alice["access"]), params={"access_token": forged})
    caused["password_changed"] = r.call(
        "POST",
        "/v1/me/password",
        json={"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(alice["access"]),
    )
    current = caused["password_changed"].json
    caused["logout"] = r.call("POST", "/v1/auth/logout", headers=bearer(current["access"]))
    other = r.login("alice", NEW_PASSWORD).json
    caused["logout_all"] = r.call("POST", "/v1/auth/logout-all", headers=bearer(other["access"]))
    for _ in range(21):
        caused["rate_limited"] = r.refresh("not-a-token", ip="198.51.100.99")
    assert caused["rate_limited"].status_code == 429
    assert caused["refresh_reuse_detected"].status_code == 401
    assert caused["lockout_started"].status_code == 401

    text = stream.getvalue()
    lines = entries(stream)
    assert len(lines) == text.count("\n") and "\r" not in text
    for entry in lines:
        assert TS.match(entry["ts"]) and entry["level"] in {"info", "warning", "error"}
        assert isinstance(entry["event"], str) and entry["event"]
        assert isinstance(entry["request_id"], str) and entry["request_id"]
    for secret in r.secrets:
        assert secret not in text
        for piece in secret.split("."):  # no JWT segment and no refresh token prefix either
            assert len(piece) < 24 or piece[:24] not in text
    for event, response in caused.items():
        logged_by = {e["request_id"] for e in lines if e["event"] == event}
        assert rid(response) in logged_by, event
    assert sum(e["event"] == "refresh_reuse_detected" for e in lines) == 1
    failed = [e for e in lines if e["event"] == "login_failed"]
    assert {e["login"] for e in failed} == {"alice", "mallory"}
    # one access line per request, with the route template and the status sent
    access = {e["request_id"]: e for e in lines if e["event"] == "request"}
    assert len(access) == len(r.responses)
    for response in r.responses:
        line = access[rid(response)]
        assert line["status"] == response.status_code
        assert line["route"].startswith("/v1/") and line["method"] in {"GET", "POST"}
        assert isinstance(line["duration_ms"], float) and line["client_ip"]
    me_line = access[rid(caused["password_changed"])]
    assert me_line["route"] == "/v1/me/password"
    assert me_line["user_id"] == alice["user"]["id"] and me_line["device_id"]
    anonymous = access[rid(caused["login_failed"])]
    assert anonymous["user_id"] is None and anonymous["device_id"] is None


def test_crlf_in_the_request_id_and_the_login_name_cannot_forge_lines(run):
    """A15: the injected id is replaced; the injected name is escaped inside its field."""
    r, stream = run
    r.register("alice")
    forged_line = '{"ts": "2026-12-01T12:00:00.000Z", "level": "info", "event": "forged"}'
    by_id = r.call("GET", "/health", headers={"X-Request-ID": f"abcdefgh\r\n{forged_line}"})
    assert rid(by_id) != "abcdefgh" and "\n" not in rid(by_id)
    name = f'mallory\r\n{forged_line}\r\n{{"event": "login_succeeded", "login": "alice"}}'
    by_name = r.login(name, WRONG)
    assert by_name.status_code == 401
    text = stream.getvalue()
    assert "\r" not in text
    lines = entries(stream)
    assert all(e["event"] != "forged" for e in lines)
    assert [e["event"] for e in lines if e["request_id"] == rid(by_id)] == ["request"]
    events = [e for e in lines if e["request_id"] == rid(by_name)]
    assert "login_succeeded" not in [e["event"] for e in events]
    assert {e["request_id"] for e in lines} <= {rid(x) for x in r.responses}
    [failed] = [e for e in events if e["event"] == "login_failed"]
    assert failed["login"].startswith("mallory\r\n")  # kept, as an escaped value


def test_an_unauthorised_role_is_logged_as_authz_denied(run):
    """Rule 33: a 403 is an ``authz_denied`` event of the caller's request."""
    r, stream = run
    student = r.register("student1")
    denied = r.call("GET", "/v1/users", headers=bearer(student["access"]))
    assert denied.status_code == 403
    [line] = [e for e in entries(stream) if e["event"] == "authz_denied"]
    assert line["request_id"] == rid(denied) and line["user_id"] == student["user"]["id"]


def test_an_access_line_reaches_any_other_handler_too_and_reads_the_same(run):
    """The access line skips the ``LogRecord`` only while flipdeck's handler is the only one;
    a handler a deployment adds gets it as a record, formatted into the same JSON object."""
    r, stream = run
    token = r.register("alice")["access"]
    extra = io.StringIO()
    handler = logging.StreamHandler(extra)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("flipdeck.server")
    logger.addHandler(handler)
    try:
        slow = r.call("GET", "/v1/me", headers=bearer(token))
    finally:
        logger.removeHandler(handler)
    fast = r.call("GET", "/v1/me", headers=bearer(token))

    [seen_by_extra] = [e for e in entries(extra) if e["event"] == "request"]
    by_id = {e["request_id"]: e for e in entries(stream) if e["event"] == "request"}
    assert by_id[rid(slow)] == seen_by_extra
    assert rid(fast) not in {e["request_id"] for e in entries(extra)}
    direct, recorded = by_id[rid(fast)], by_id[rid(slow)]
    assert list(direct) == list(recorded)  # the same keys in the same order
    assert direct["route"] == recorded["route"] == "/v1/me" and direct["status"] == 200
    assert direct["user_id"] == recorded["user_id"] and direct["user_id"]
    assert TS.match(direct["ts"])

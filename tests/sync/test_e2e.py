"""Sync end to end, as a user runs it: ``flipdeck-server`` as a subprocess (gunicorn, 2
workers) on SQLite and, when ``FLIPDECK_TEST_DATABASE_URL`` is set, on a throwaway PostgreSQL
database; devices are ``FLIPDECK_HOME`` directories driven only through ``python -m flipdeck``.

* register on A with ``--password-stdin``, log in on B and C; ``whoami --json``; no token in
  any output; the token file (there is no keyring backend here) is private;
* notes and a review made on A reach B and C (``sync --json``: pushed, requests, bytes,
  ``duration_ms``), after which ``card list --json`` is the same everywhere and every device's
  idle sync is one request under 1 KB (G7);
* the same card answered in the same second on A and B: both reviews survive everywhere and
  the card's state agrees (G2);
* ``sync --status --json``; the server stopped: exit 5 "unreachable", the changes stay queued
  and go out once it is back (G6); ``logout``, a revoked device (G12), a wrong password: exit 4;
* an access token the server refuses (tampered, or expired under a 1-second lifetime) is
  refreshed transparently and the new pair saved;
* ``config set sync.auto true``: ``study`` syncs at its start and end, and with the server
  down studies on without a word about sync;
* the password prompt on a real terminal (a pty), and ``--password-stdin`` refused on one.

Every server is stopped and every database dropped, pass or fail.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import pty
import re
import select
import signal
import stat
import subprocess
import sys
import termios
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli.conftest import Outcome, subprocess_env
from tests.server.conftest import PG_URL, STRONG_PASSWORD
from tests.server.live import (
    LiveServer,
    Reply,
    free_port,
    migrate,
    postgres_database,
    serve_command,
    server_env,
    start,
)

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="the live server helpers need Linux /proc"
)

sqlite_only = pytest.mark.parametrize("world", ["sqlite"], indirect=True)
"""For what the client alone decides (prompts, messages, tokens): the database behind the
server makes no difference there, so once is enough."""

USER = "alice"
PASSWORD = STRONG_PASSWORD
SYNC_FIELDS = {
    "pushed",
    "pushed_duplicates",
    "pulled",
    "merged",
    "reviews_added",
    "kept_unknown",
    "requests",
    "bytes_sent",
    "bytes_received",
    "duration_ms",
}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


# -- devices ------------------------------------------------------------------------------------


def device_env(home: Path, **extra: str) -> dict[str, str]:
    """A device's environment: its own FLIPDECK_HOME (and HOME), UTC, no colour, and no
    keyring backend, so tokens go to the private file and nothing touches the real keyring."""
    env = subprocess_env(
        home, HOME=str(home), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring"
    )
    env.update(extra)
    return env


@dataclass
class Device:
    """One installation, driven through ``python -m flipdeck``."""

    name: str
    home: Path

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "flipdeck", *args]

    def __call__(
        self, *args: str, input: str | None = None, env: dict | None = None, timeout: float = 120
    ) -> Outcome:
        done = subprocess.run(
            self.command(*args),
            input=input,
            capture_output=True,
            text=True,
            env=device_env(self.home, **(env or {})),
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        return Outcome(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, input: str | None = None) -> Outcome:
        outcome = self(*args, input=input)
        assert outcome.exit_code == 0, (self.name, args, outcome.stdout, outcome.stderr)
        return outcome

    def json(self, *args: str, input: str | None = None):
        return self.ok(*args, "--json", input=input).json()

    def sync(self) -> dict:
        return self.json("sync")

    def spawn(self, *args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), env=device_env(self.home), **kwargs)

    def login(self, url: str, username: str = USER) -> Outcome:
        return self.ok(
            "login",
            "--server",
            url,
            "--username",
            username,
            "--password-stdin",
            "--json",
            input=PASSWORD + "\n",
        )

    def add(self, deck: str, *fronts: str, new_deck: bool = False) -> list[str]:
        """Add Basic notes (to a deck created first with ``new_deck``); their card ids."""
        if new_deck:
            self.ok("deck", "create", deck)
        added = self.json(
            "add",
            "--deck",
            deck,
            "--from",
            "-",
            input="".join(f"{f}\tback of {f}\n" for f in fronts),
        )
        return [card for note in added for card in note["card_ids"]]

    def cards(self, query: str = "") -> list[dict]:
        return self.json("card", "list", query)

    def card(self, card_id: str) -> dict:
        data = self.json("card", "show", card_id)
        data.pop("retrievability")  # depends on the moment it is asked
        return data

    def status(self) -> dict:
        return self.json("sync", "--status")

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials.json"

    def credentials(self) -> dict:
        return json.loads(self.credentials_file.read_text())


def claims(token: str) -> dict:
    """An access token's claims (read, not verified)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# -- the server ---------------------------------------------------------------------------------


class Server:
    """``flipdeck-server serve --workers N`` that can be stopped and started again on the same
    port (the devices keep its URL)."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 2) -> None:
        self.env, self.log_path, self.workers = env, log_path, workers
        self.database_url = env["FLIPDECK_DATABASE_URL"]
        self.port = free_port()
        self.live: LiveServer | None = None
        migrate(env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        assert self.live is None or self.live.process.poll() is not None
        command = serve_command(self.port, "--workers", str(self.workers), "--no-migrate")
        for attempt in range(40):  # the port may still be held by the killed workers a moment
            try:
                self.live = start(command, self.env, self.log_path, self.port)
                return self.live
            except RuntimeError as error:
                if "Address already in use" not in str(error) or attempt == 39:
                    raise
                time.sleep(0.25)
        raise AssertionError("unreachable")

    def running(self) -> bool:
        return self.live is not None and self.live.process.poll() is None

    def ensure_running(self) -> None:
        if not self.running():
            self.start()

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()

    def kill(self) -> None:
        """SIGKILL to the master and its workers at once: a crash, not a shutdown."""
        assert self.live is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.live.process.pid, signal.SIGKILL)
        self.live.process.wait(15)

    def request(self, method: str, path: str, body=None, **kwargs) -> Reply:
        assert self.live is not None
        return self.live.request(method, path, body, **kwargs)

    def requests_logged(self) -> list[dict]:
        """The ``request`` lines of the server's log, health probes left out."""
        if self.live is None:
            return []
        return [e for e in self.live.events("request") if e.get("route") != "/health"]

    def logged_since(self, start: int, count: int) -> list[dict]:
        """The request lines after the first ``start``, once there are ``count`` of them (the
        workers write each line as they answer; give them a moment)."""
        deadline = time.monotonic() + 10
        while True:
            lines = self.requests_logged()[start:]
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


@contextlib.contextmanager
def database(kind: str, root: Path, prefix: str):
    """A SQLite file or a throwaway PostgreSQL database (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{root / 'server.db'}"
        return
    if not PG_URL:
        pytest.skip("FLIPDECK_TEST_DATABASE_URL is not set (CI sets it)")
    with postgres_database(PG_URL, prefix) as url:
        yield url


@contextlib.contextmanager
def running_server(url: str, root: Path, workers: int = 2, **settings: str):
    env = server_env(url, root / "server-home", FLIPDECK_PASSWORD_PROFILE="low-memory", **settings)
    server = Server(env, root / "server.log", workers)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@dataclass
class World:
    server: Server
    a: Device
    b: Device
    c: Device
    root: Path
    registered: Outcome
    logins: list[Outcome] = field(default_factory=list)

    def device(self, name: str) -> Device:
        return Device(name, self.root / name)


@dataclass
class ShortLived:
    server: Server
    device: Device
    registered_access: str


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory):
    """A server whose access tokens live 1 s (plus its 5 s leeway), and a device registered on
    it at once, so that by the time the test that needs an expired token runs, it is."""
    root = tmp_path_factory.mktemp("e2e-short")
    with running_server(
        f"sqlite:///{root / 'server.db'}", root, workers=1, FLIPDECK_ACCESS_TOKEN_SECONDS="1"
    ) as server:
        device = Device("R", root / "R")
        device.ok(
            "register",
            "--server",
            server.url,
            "--username",
            "riley",
            "--email",
            "riley@example.com",
            "--password-stdin",
            input=PASSWORD + "\n",
        )
        yield ShortLived(server, device, device.credentials()["access"])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory, short_lived):
    """A server and three devices of one account: A registered, B and C signed in."""
    root = tmp_path_factory.mktemp(f"e2e-{request.param}")
    with database(request.param, root, "flipdeck_e2e") as url, running_server(url, root) as srv:
        a, b, c = (Device(name, root / name) for name in "ABC")
        registered = a(
            "register",
            "--server",
            srv.url,
            "--username",
            USER,
            "--email",
            "alice@example.com",
            "--password-stdin",
            "--json",
            input=PASSWORD + "\n",
        )
        assert registered.exit_code == 0, registered.stderr
        world = World(srv, a, b, c, root, registered)
        world.logins = [d.login(srv.url) for d in (b, c)]
        yield world


# -- signing in ---------------------------------------------------------------------------------


def test_register_login_and_whoami(world):
    url = world.server.url
    registered = world.registered.json()
    assert registered["server"] == url and registered["username"] == USER
    assert registered["user_id"]
    for login in world.logins:
        assert login.json() == registered
    # one note that the tokens are in a file (no keyring here), on stderr, the first time only
    assert world.registered.stderr.count("no system keyring") == 1
    human = world.c.ok("whoami")
    assert human.stderr.strip() == f"Signed in as {USER} on {url}."
    assert "keyring" not in human.stderr  # said once, not again
    outputs = [world.registered, *world.logins, human]
    for device in (world.a, world.b):
        outputs.append(device.ok("whoami", "--json"))
        assert outputs[-1].json() == registered
    for device in (world.a, world.b, world.c):
        assert stat.S_IMODE(device.credentials_file.stat().st_mode) == 0o600
        tokens = device.credentials()
        for secret in (tokens["access"], tokens["refresh"]):
            assert not any(secret in o.stdout or secret in o.stderr for o in outputs)


@sqlite_only
def test_wrong_password_is_exit_4(world):
    device = world.device("W")
    refused = device(
        "login",
        "--server",
        world.server.url,
        "--username",
        USER,
        "--password-stdin",
        input="not the password at all\n",
    )
    assert refused.exit_code == 4
    assert "wrong" in refused.stderr and "Traceback" not in refused.stderr
    assert not device.credentials_file.exists()
    assert device("whoami").exit_code == 4


def _terminal_session(command: list[str], env: dict, answers: list[tuple[str, str]]) -> tuple:
    """Run ``command`` on a new pty as its controlling terminal, answering each prompt
    ``(waited_for, reply)``; returns ``(exit code, everything the terminal showed)``."""
    master, slave = pty.openpty()

    def controlling_terminal():  # runs in the child, after setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        command,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
        preexec_fn=controlling_terminal,
    )
    os.close(slave)
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            if pending and pending[0][0].encode() in shown:
                os.write(master, (pending.pop(0)[1] + "\n").encode())
                shown += b"\x00"  # mark the spot, so a prompt is not answered twice
            elif process.poll() is not None and not ready:
                break
        return process.wait(30), shown.decode("utf-8", "replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


@sqlite_only
def test_login_prompts_on_a_terminal(world):
    device = world.device("P")
    code, shown = _terminal_session(
        device.command("login", "--server", world.server.url),
        device_env(device.home, TERM="dumb"),
        [("Username:", USER), ("Password: ", PASSWORD)],  # the space: echo is off
    )
    assert code == 0, shown
    assert f"Signed in as {USER}" in shown
    assert PASSWORD not in shown  # typed, never echoed
    assert device.credentials()["username"] == USER

    # a terminal is no pipe: --password-stdin refuses to read a password from it
    master, slave = pty.openpty()
    try:
        refused = subprocess.run(
            device.command(
                "login", "--server", world.server.url, "--username", USER, "--password-stdin"
            ),
            stdin=slave,
            capture_output=True,
            text=True,
            env=device_env(device.home),
            timeout=60,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert refused.returncode == 1
    assert "--password-stdin reads a pipe" in refused.stderr


# -- changes reach every device -----------------------------------------------------------------


def test_notes_and_reviews_reach_every_device(world):
    a, b, c = world.a, world.b, world.c
    cards = a.add("E2E::Spanish", "hola", "uno", "dos", new_deck=True)
    answered = a.json("review", cards[0], "--rating", "good")
    assert answered["card_id"] == cards[0]

    report = a.sync()
    assert set(report) == SYNC_FIELDS
    assert report["pushed"] >= 3 + 3 + 1 + 1  # notes, cards, the review, the deck
    assert report["pushed_duplicates"] == 0
    assert report["requests"] >= 2  # a push and a pull
    assert report["bytes_sent"] > report["bytes_received"] > 0
    assert report["duration_ms"] > 0

    pulled = b.sync()
    assert pulled["pulled"] >= report["pushed"] and pulled["reviews_added"] >= 1
    human = c.ok("sync")
    assert re.match(r"Synced: \d+ change\(s\) sent, \d+ received, \d+ merged", human.stderr)

    a.sync()  # B's and C's own changes, if they had any
    b.sync()
    listing = a.cards()
    assert {c["question"] for c in listing if c["deck"] == "E2E::Spanish"} == {"hola", "uno", "dos"}
    assert b.cards() == listing == c.cards()

    for device in (a, b, c):  # G7: up to date, one request under 1 KB, for every device
        idle = device.sync()
        assert (idle["requests"], idle["pushed"], idle["pulled"]) == (1, 0, 0), idle
        assert idle["bytes_sent"] + idle["bytes_received"] < 1024, idle


def test_the_same_card_answered_in_the_same_second_on_two_devices(world):
    a, b = world.a, world.b
    (card,) = a.add("Default", "carrera")
    a.sync()
    b.sync()
    second = datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    a.ok("review", card, "--rating", "good", "--at", second)
    b.ok("review", card, "--rating", "again", "--at", second)
    for _ in range(2):  # both sync twice
        a.sync()
        b.sync()
    on_a, on_b = a.card(card), b.card(card)
    assert on_a == on_b
    assert sorted(h["rating"] for h in on_a["history"]) == ["again", "good"]
    assert len({h["id"] for h in on_a["history"]}) == 2
    assert on_a["reviews"] == 2


@sqlite_only
def test_sync_status(world):
    a = world.a
    a.sync()
    a.add("Default", "estado")
    status = a.status()
    assert set(status) == {"pending_changes", "last_sync", "server", "account"}
    assert status["pending_changes"] == 2  # the note and its card
    assert RFC3339.match(status["last_sync"]), status
    assert (status["server"], status["account"]) == (world.server.url, USER)
    assert a.ok("sync").stderr.startswith("Synced: 2 change(s) sent, ")
    rows = dict(line.split("\t") for line in a.ok("sync", "--status").stdout.splitlines())
    assert rows["pending changes"] == "0" and rows["account"] == USER


# -- the server going away ----------------------------------------------------------------------


def test_an_unreachable_server_keeps_the_changes_queued(world):
    a, b = world.a, world.b
    server = world.server
    before = a.status()["pending_changes"]
    a.add("Default", "sin red")
    pending = before + 2  # the note and its card
    server.stop()
    try:
        failed = a("sync")
        assert failed.exit_code == 5
        assert "unreachable" in failed.stderr and "Traceback" not in failed.stderr
        as_json = a("sync", "--json")
        assert as_json.exit_code == 5 and as_json.stdout == ""
        assert as_json.error()["code"] == "server_unavailable"
        assert a.status()["pending_changes"] == pending  # G6: nothing lost, nothing sent
    finally:
        server.ensure_running()
    back = a.sync()
    assert back["pushed"] == pending and back["pushed_duplicates"] == 0
    b.sync()
    assert [c["question"] for c in b.cards('"sin red"')] == ["sin red"]


# -- signing out, and being signed out ----------------------------------------------------------


@sqlite_only
def test_logout_then_sync_is_exit_4(world):
    device = world.device("D")
    device.login(world.server.url)
    device.sync()
    refresh = device.credentials()["refresh"]
    out = device.ok("logout")
    assert out.stderr.strip() == f"Signed out of {world.server.url}."
    assert not device.credentials_file.exists()
    # the server forgot the sign-in too
    assert world.server.request("POST", "/v1/auth/refresh", {"refresh": refresh}).status == 401

    refused = device("sync")
    assert refused.exit_code == 4
    assert "not signed in" in refused.stderr and "flipdeck login" in refused.stderr
    as_json = device("sync", "--json")
    assert as_json.exit_code == 4 and as_json.error()["code"] == "auth_required"
    status = device.status()  # --status needs no sign-in
    assert status["account"] is None and status["pending_changes"] == 0


@sqlite_only
def test_signing_in_to_another_account_starts_the_sync_over(world):
    """The sync cursor and the "sent" marks belong to one account on one server: after a
    sign-in as someone else, everything is offered to the new account (nothing is skipped
    because it went to the old one)."""
    device = world.device("S")
    device.login(world.server.url)
    device.sync()
    assert device.status()["pending_changes"] == 0
    switched = device(
        "register",
        "--server",
        world.server.url,
        "--username",
        "sam",
        "--email",
        "sam@example.com",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert switched.exit_code == 0, switched.stderr
    assert "sends and receives everything again" in switched.stderr
    everything = device.status()["pending_changes"]
    assert everything > 0
    report = device.sync()
    assert report["pushed"] == everything and report["pushed_duplicates"] == 0
    assert report["pulled"] == 0  # sam's log held nothing of anyone else's


@sqlite_only
def test_a_device_revoked_elsewhere_stops_syncing(world):
    """G12: signing a device out from another one stops its sync at once, no password
    change needed; its unsent changes stay queued."""
    device = world.device("G")
    device.login(world.server.url)
    mine = claims(device.credentials()["access"])["sid"]
    token = world.a.credentials()["access"]
    assert world.server.request("DELETE", f"/v1/me/devices/{mine}", token=token).status == 204

    device.add("Default", "revocado")
    refused = device("sync")
    assert refused.exit_code == 4
    assert "revoked" in refused.stderr and "flipdeck login" in refused.stderr
    assert device.status()["pending_changes"] > 2  # its collection and the note: all queued


@sqlite_only
def test_a_refused_access_token_is_refreshed_and_saved(world):
    a = world.a
    a.sync()
    before = a.credentials()
    access = before["access"]
    flipped = "A" if access[-2] != "A" else "B"  # a full 6-bit digit of the signature
    tampered = {**before, "access": access[:-2] + flipped + access[-1]}
    a.credentials_file.write_text(json.dumps(tampered))
    logged = len(world.server.requests_logged())

    report = a.sync()
    assert report["requests"] == 3, report  # the refused pull, the refresh, the pull again
    routes = [(e["route"], e["status"]) for e in world.server.logged_since(logged, 3)]
    assert routes == [("/v1/sync/pull", 401), ("/v1/auth/refresh", 200), ("/v1/sync/pull", 200)]
    after = a.credentials()
    assert after["access"] not in (before["access"], tampered["access"])
    assert after["refresh"] != before["refresh"]
    assert stat.S_IMODE(a.credentials_file.stat().st_mode) == 0o600
    assert a.sync()["requests"] == 1  # the saved pair is the one in use


def test_an_expired_access_token_is_refreshed_and_saved(short_lived):
    server, device = short_lived.server, short_lived.device
    deadline = time.monotonic() + 30
    while server.request("GET", "/v1/me", token=short_lived.registered_access).status != 401:
        assert time.monotonic() < deadline, "the access token never expired"
        time.sleep(0.25)
    before = device.credentials()
    logged = len(server.requests_logged())

    report = device.sync()  # it has its own changes to push: push, refresh, push, pull
    new = server.logged_since(logged, 4)
    refreshes = [e for e in new if e["route"] == "/v1/auth/refresh"]
    assert [e["status"] for e in refreshes] == [200]
    assert report["pushed"] > 0 and report["requests"] == 4, report
    after = device.credentials()
    assert after["access"] != before["access"] and after["refresh"] != before["refresh"]
    # what was saved is the live pair: its refresh token is the family's current one
    assert server.request("POST", "/v1/auth/refresh", {"refresh": after["refresh"]}).status == 200


# -- sync.auto ----------------------------------------------------------------------------------


@sqlite_only
def test_study_syncs_at_start_and_end_and_quietly_offline(world):
    a, server = world.a, world.server
    device = world.device("H")
    device.login(world.server.url)
    assert device.json("config", "set", "sync.auto", "true") == {"sync.auto": True}
    a.ok("deck", "create", "E2E::Auto")
    a.sync()
    device.sync()  # H knows the deck now (see the xfail below)

    (card,) = a.add("E2E::Auto", "auto-front")
    a.sync()
    studied = device("study", "E2E::Auto", input="\n3\nq\n")
    assert studied.exit_code == 0, studied.stderr
    assert "auto-front" in studied.stdout  # pulled when the session started
    assert "Studied 1 card(s)" in studied.stderr
    a.sync()
    assert [h["rating"] for h in a.card(card)["history"]] == ["good"]  # pushed when it ended

    (offline,) = device.add("E2E::Auto", "offline-front")
    server.kill()  # down hard, this time
    try:
        alone = device("study", "E2E::Auto", input="\n3\nq\n")
        assert alone.exit_code == 0, alone.stderr
        assert "offline-front" in alone.stdout
        assert "Studied 1 card(s)" in alone.stderr
        for word in ("sync", "server", "unreachable", "note:", "error"):
            assert word not in alone.stderr.lower(), alone.stderr
    finally:
        server.ensure_running()
    device.sync()
    a.sync()
    assert [h["rating"] for h in a.card(offline)["history"]] == ["good"]


@sqlite_only
def test_study_with_auto_sync_finds_a_deck_made_elsewhere(world):
    a, b = world.a, world.b
    b.ok("config", "set", "sync.auto", "true")
    try:
        a.add("E2E::Brand new", "nuevo", new_deck=True)
        a.sync()
        studied = b("study", "E2E::Brand new", input="\n3\nq\n")
        assert studied.exit_code == 0, studied.stderr
        assert "nuevo" in studied.stdout
    finally:
        b.ok("config", "set", "sync.auto", "false")

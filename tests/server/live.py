"""Helpers for tests (and the benchmark) that run the real ``flipdeck-server`` as a subprocess:
the environment it gets, ``migrate`` and other commands, ``serve`` under gunicorn on a free
loopback port (started, waited for on ``/health``, stopped cleanly even when a test fails),
throwaway PostgreSQL databases, direct SQL on the server's database, and a tiny standard-library
HTTP client for JSON requests.

Nothing here imports the server in the test process except ``flipdeck.server.tokens`` (for the
refresh-token digest), so what runs is exactly what an operator runs.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import flipdeck

SRC = Path(flipdeck.__file__).resolve().parents[1]
"""The ``src`` directory the subprocesses import flipdeck from (the working tree)."""

STARTUP_TIMEOUT = 45.0
STOP_TIMEOUT = 15.0


# -- environment and commands ------------------------------------------------------------------


def server_env(database_url: str, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a server subprocess: this process's, minus any ``FLIPDECK_*`` and
    gunicorn settings, plus ``database_url``, a random secret key and ``home`` as both
    ``FLIPDECK_HOME`` and ``HOME`` (nothing may touch the real home directory)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLIPDECK_", "GUNICORN_")) and k not in ("XDG_RUNTIME_DIR",)
    }
    env.update(
        PYTHONPATH=os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]),
        PYTHONUNBUFFERED="1",
        HOME=str(home),
        FLIPDECK_HOME=str(home),
        FLIPDECK_DATABASE_URL=database_url,
        FLIPDECK_SECRET_KEY=os.urandom(32).hex(),
    )
    env.update(extra)
    return env


def cli(
    *args: str, env: Mapping[str, str], input: str | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess:
    """Run ``python -m flipdeck.server ARGS`` to completion (text output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "flipdeck.server", *args],
        env=dict(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def migrate(env: Mapping[str, str]) -> None:
    """``flipdeck-server migrate``, which must succeed."""
    done = cli("migrate", env=env)
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed ({done.returncode}): {done.stderr}")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- HTTP ---------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def request(
    base_url: str,
    method: str,
    path: str,
    body=None,
    *,
    headers: Mapping[str, str] | None = None,
    token: str | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One request on a fresh connection (gunicorn's sync workers close it after each)."""
    parts = urlparse(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    sent = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        payload = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, payload)
    finally:
        connection.close()


# -- the server process -------------------------------------------------------------------------


@dataclass
class LiveServer:
    """A running ``flipdeck-server serve`` (or any gunicorn command) and its log."""

    process: subprocess.Popen
    port: int
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body=None, **kwargs) -> Reply:
        return request(self.base_url, method, path, body, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def events(self, name: str | None = None) -> list[dict]:
        """The server's JSON log lines (optionally only those whose ``event`` is ``name``)."""
        found = []
        for line in self.log().splitlines():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if name is None or entry.get("event") == name:
                found.append(entry)
        return found

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the children of the master process."""
        return children(self.process.pid)

    def wait_for_workers(self, count: int, timeout: float = STARTUP_TIMEOUT) -> list[int]:
        """The worker pids once ``count`` of them have booted (or what there is at timeout)."""
        deadline = time.monotonic() + timeout
        pids = self.worker_pids()
        while len(pids) < count and time.monotonic() < deadline and self.process.poll() is None:
            time.sleep(0.1)
            pids = self.worker_pids()
        return pids

    def stop(self) -> int | None:
        """SIGTERM to the master (gunicorn's graceful shutdown), then SIGKILL to whatever of
        its process group is left; returns the master's exit code."""
        process = self.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(STOP_TIMEOUT)
        # workers orphaned by a master that died first are still in its process group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.returncode


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid …; comm may contain spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def start(
    command: list[str],
    env: Mapping[str, str],
    log_path: Path,
    port: int,
    *,
    health_path: str = "/health",
    timeout: float = STARTUP_TIMEOUT,
) -> LiveServer:
    """Start ``command`` (in its own process group, output to ``log_path``) and wait until
    ``health_path`` answers 200; stops it again and raises if it never does."""
    log = open(log_path, "ab")  # noqa: SIM115 (the child keeps writing after we return)
    try:
        process = subprocess.Popen(
            command,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()
    server = LiveServer(process, port, log_path, dict(env))
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited ({process.returncode}) before answering:\n{server.log()}"
            )
        try:
            if request(server.base_url, "GET", health_path, timeout=2).status == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the server did not answer within {timeout} s:\n{server.log()}")
        time.sleep(0.1)


def serve_command(port: int, *args: str) -> list[str]:
    """``python -m flipdeck.server serve --host 127.0.0.1 --port PORT ARGS``."""
    return [
        sys.executable,
        "-m",
        "flipdeck.server",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *args,
    ]


@contextlib.contextmanager
def live_server(
    env: Mapping[str, str],
    log_path: Path,
    *,
    workers: int = 2,
    args: tuple[str, ...] = ("--no-migrate",),
    run_migrate: bool = True,
) -> Iterator[LiveServer]:
    """``migrate``, then ``serve --workers N --no-migrate`` on a free port; always stopped."""
    if run_migrate:
        migrate(env)
    for attempt in range(3):
        port = free_port()
        try:
            server = start(
                serve_command(port, "--workers", str(workers), *args), env, log_path, port
            )
            break
        except RuntimeError as error:
            # another process (a parallel test) took the free port first: pick another
            if "Address already in use" not in str(error) or attempt == 2:
                raise
    try:
        yield server
    finally:
        server.stop()


# -- databases ------------------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def postgres_database(admin_url: str, prefix: str = "flipdeck_live") -> Iterator[str]:
    """A fresh, empty PostgreSQL database on ``admin_url``'s server, dropped afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sql(database_url: str, statement: str, params: tuple = ()) -> list[tuple]:
    """Run one statement on the server's database (``?`` placeholders on both engines)."""
    if database_url.startswith("sqlite:///"):
        connection = sqlite3.connect(database_url[len("sqlite:///") :], timeout=10)
        try:
            with connection:
                return connection.execute(statement, params).fetchall()
        finally:
            connection.close()
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        cursor = connection.execute(statement.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []

"""G5, resumable and crash-safe sync: a 10,000-card first sync killed with SIGKILL — the client
(``python -m flipdeck sync``) or the server (one gunicorn worker, or all of gunicorn) — at
several moments, then run again, completes with nothing lost or doubled, re-sending at most one
batch.

After every kill these hold (``acked`` = the device's changes marked pushed; ``stored`` = the
server's ``sync_change`` rows from that device):

* ``acked ⊆ stored``: a change is marked sent only once the server has it;
* ``|stored − acked| ≤ 2000``: at most the one batch in flight is unacknowledged, so the next
  sync re-sends at most one batch (and its report says so: ``pushed_duplicates ≤ 2000``);
* no ``change_id`` twice in the log (the unique index guarantees it; asserted anyway).

When the sync finally completes, ``stored`` is exactly the device's ``changes`` table, and a
second device — itself killed mid-pull and resumed from its saved cursor — ends up with the
same cards (``card list --json``) and counts (``stats --json``).

The default run kills the client three times (at the first push the server commits, at a later
batch boundary, after a seeded random delay) and the server twice; ``pytest --slow`` kills the
client a dozen more times. The seed is in the failure message.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from flipdeck.sync.engine import PUSH_BATCH
from tests.server.live import sql
from tests.sync.test_e2e import PASSWORD, Device, Server, database, running_server

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="the live server helpers need Linux /proc"
)

CARDS = 10_000
SEED = int(os.environ.get("FLIPDECK_TEST_SEED", random.randrange(1 << 30)))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A collection of 10,000 Basic notes (and cards), built once through `flipdeck add`;
    each test copies it (a fresh first sync each time)."""
    device = Device("template", tmp_path_factory.mktemp("template") / "home")
    rows = "".join(f"front {i}\tback {i}\n" for i in range(CARDS))
    added = device.ok("add", "--deck", "Default", "--from", "-", input=rows)
    assert f"Added {CARDS} note(s)" in added.stderr
    return device.home


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    """flipdeck-server (gunicorn, 2 workers) on SQLite, or on a throwaway PostgreSQL database
    when ``FLIPDECK_TEST_DATABASE_URL`` is set."""
    root = tmp_path_factory.mktemp(f"resume-{request.param}")
    with database(request.param, root, "flipdeck_resume") as url, running_server(url, root) as srv:
        yield srv


sqlite_only = pytest.mark.parametrize("server", ["sqlite"], indirect=True)
"""For the client's kills: the server's database plays no part in how the client resumes."""


def copy_of(template: Path, home: Path) -> Device:
    """A device whose collection is a copy of the template (not signed in yet)."""
    home.mkdir(parents=True)
    for file in template.glob("collection.db*"):
        shutil.copy2(file, home / file.name)
    return Device(home.name, home)


def register(device: Device, server: Server, username: str) -> str:
    """Register ``username`` from ``device``; its user id."""
    out = device.json(
        "register",
        "--server",
        server.url,
        "--username",
        username,
        "--email",
        f"{username}@example.com",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    return out["user_id"]


# -- looking at both ends -----------------------------------------------------------------------


def device_rows(device: Device, statement: str, params: tuple = ()) -> list[tuple]:
    """Read the device's collection directly (a kill may have left a WAL; SQLite recovers)."""
    connection = sqlite3.connect(device.home / "collection.db", timeout=10)
    try:
        return connection.execute(statement, params).fetchall()
    finally:
        connection.close()


@dataclass
class Ends:
    """One device's changes as both ends see them."""

    server: Server
    device: Device
    user_id: str
    device_id: str

    @classmethod
    def of(cls, server: Server, device: Device, user_id: str) -> Ends:
        ((device_id,),) = device_rows(device, "SELECT value FROM meta WHERE key = 'device_id'")
        return cls(server, device, user_id, device_id)

    def stored(self) -> list[str]:
        """The change ids the server's log holds from this device (duplicates kept)."""
        rows = sql(
            self.server.database_url,
            "SELECT change_id FROM sync_change WHERE user_id = ? AND device = ?",
            (self.user_id, self.device_id),
        )
        return [r[0] for r in rows]

    def stored_count(self) -> int:
        ((count,),) = sql(
            self.server.database_url,
            "SELECT COUNT(*) FROM sync_change WHERE user_id = ? AND device = ?",
            (self.user_id, self.device_id),
        )
        return count

    def acked(self) -> set[str]:
        return {r[0] for r in device_rows(self.device, "SELECT id FROM changes WHERE pushed = 1")}

    def all_changes(self) -> set[str]:
        return {r[0] for r in device_rows(self.device, "SELECT id FROM changes")}

    def settle(self, quiet: float = 0.3) -> None:
        """Wait for a push the killed client left behind: the server finishes a request whose
        client is gone (and commits it). Done once the log has not grown for ``quiet``
        seconds and no write transaction is open on the server's database."""
        url = self.server.database_url
        last, since = -1, time.monotonic()
        deadline = since + 60
        while time.monotonic() < deadline:
            if url.startswith("sqlite:///"):
                connection = sqlite3.connect(url[len("sqlite:///") :], timeout=30)
                try:
                    connection.execute("BEGIN IMMEDIATE")  # waits for an open write to commit
                    connection.execute("ROLLBACK")
                finally:
                    connection.close()
            else:
                busy = sql(
                    url,
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = "
                    "current_database() AND pid <> pg_backend_pid() AND state <> 'idle'",
                )
                if busy[0][0]:
                    since = time.monotonic()
            count = self.stored_count()
            if count != last:
                last, since = count, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.05)

    def check(self, when: str) -> int:
        """The invariants after a kill; returns how many changes are stored but unacked."""
        self.settle()
        stored, acked = self.stored(), self.acked()
        assert len(stored) == len(set(stored)), f"{when}: a change is in the log twice"
        assert acked <= set(stored), f"{when}: marked sent but not on the server"
        unacked = len(set(stored) - acked)
        assert unacked <= PUSH_BATCH, f"{when}: {unacked} stored changes not acknowledged"
        return unacked


def wait_until(predicate, timeout: float = 60, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def start_sync(device: Device) -> subprocess.Popen:
    return device.spawn(
        "sync", "--json", stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )


def sigkill(process: subprocess.Popen) -> int | None:
    """``kill -9``; the exit code if it had already finished by itself."""
    finished = process.poll()
    if finished is None:
        process.kill()
    process.communicate(timeout=30)
    return finished


def finish(ends: Ends) -> dict:
    """The sync that completes: its report, checked against what both ends hold."""
    before_stored = ends.stored_count()
    pending = len(ends.all_changes() - ends.acked())
    report = ends.device.sync()
    print(f"the sync that completes: {report}")
    stored = ends.stored()
    assert len(stored) == len(set(stored))
    assert set(stored) == ends.all_changes() == ends.acked()  # exactly each change, once
    sent = report["pushed"] + report["pushed_duplicates"]
    assert sent == pending, report
    assert report["pushed"] == len(stored) - before_stored, report  # what was new to the server
    assert report["pushed_duplicates"] <= PUSH_BATCH, report  # re-sent: at most one batch
    return report


def second_device_pulls_everything(
    server: Server,
    template: Path,
    first: Device,
    username: str,
    user_id: str,
    tmp: Path,
    kill: bool,
) -> None:
    """A new device signs in and pulls it all (killed once mid-pull when ``kill``, then
    resumed); both then list the same cards and count the same notes."""
    other = Device("second", tmp / "second")
    other.ok(
        "login",
        "--server",
        server.url,
        "--username",
        username,
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    if kill:
        process = start_sync(other)

        def cursor() -> int:
            with contextlib.suppress(sqlite3.Error):
                rows = device_rows(other, "SELECT value FROM meta WHERE key = 'sync.cursor'")
                return int(rows[0][0]) if rows else 0
            return 0

        assert wait_until(lambda: cursor() > 0 or process.poll() is not None)
        finished = sigkill(process)
        at_kill = cursor()
        ((own,),) = device_rows(other, "SELECT value FROM meta WHERE key = 'device_id'")
        ((expected,),) = sql(
            server.database_url,
            "SELECT COUNT(*) FROM sync_change WHERE user_id = ? AND seq > ? AND device <> ?",
            (user_id, at_kill, own),
        )
        resumed = other.sync()
        print(
            f"second device killed {'mid-pull' if finished is None else 'too late'} at "
            f"cursor {at_kill}; the resumed sync pulled {resumed['pulled']}"
        )
        if finished is None:  # killed mid-pull: it went on from the saved cursor
            assert resumed["pulled"] == expected, (resumed, at_kill)
            assert expected < CARDS * 2
    else:
        other.sync()
    first.sync()  # the second device's own (empty collection's) changes
    counts = [
        (s["total_cards"], s["total_notes"]) for s in (other.json("stats"), first.json("stats"))
    ]
    assert counts == [(CARDS, CARDS)] * 2
    assert other.cards() == first.cards()


# -- the client killed --------------------------------------------------------------------------


def kill_client_repeatedly(ends: Ends, kills: list[str], rng: random.Random) -> list[tuple]:
    """Start the sync and SIGKILL it at each kill point in turn: ``first-push`` (the moment
    the server has committed a batch), ``next-batch`` (once one more batch is stored),
    ``mid-request`` (a seeded delay of up to 150 ms after a batch is stored: anywhere in the
    next request's round), ``random`` (a seeded delay after the start, imports and all).
    Returns ``(killed, stored, unacknowledged)`` after each kill."""
    seen = []
    for number, point in enumerate(kills, 1):
        stored_before = ends.stored_count()
        process = start_sync(ends.device)
        if point == "random":
            time.sleep(rng.uniform(0.0, 0.8))
        else:
            goal = stored_before + (PUSH_BATCH if point == "next-batch" else 1)

            def reached(goal=goal, process=process) -> bool:
                return ends.stored_count() >= goal or process.poll() is not None

            assert wait_until(reached, interval=0.002)
            if point == "mid-request":
                time.sleep(rng.uniform(0.0, 0.15))
        finished = sigkill(process)
        when = f"kill {number} ({point}, seed {SEED})"
        assert finished in (None, 0), f"{when}: the sync failed by itself ({finished})"
        unacked = ends.check(when)
        seen.append((finished is None, ends.stored_count(), unacked))
        print(
            f"{when}: {'finished first' if finished == 0 else 'killed'}; "
            f"{seen[-1][1]} stored, {unacked} of them unacknowledged"
        )
        if finished == 0:
            break  # it completed before the kill: nothing left to interrupt
    return seen


@sqlite_only
def test_client_killed_mid_sync_resumes(template, server, tmp_path):
    device = copy_of(template, tmp_path / "a")
    user_id = register(device, server, "killclient")
    ends = Ends.of(server, device, user_id)
    assert len(ends.all_changes()) > 2 * CARDS
    rng = random.Random(SEED)

    kills = kill_client_repeatedly(ends, ["first-push", "next-batch", "random"], rng)
    killed, stored, _ = kills[0]
    assert killed and 0 < stored < len(ends.all_changes()), "the first kill came too late"
    report = finish(ends)
    assert report["pushed_duplicates"] == kills[-1][2]  # exactly the batch that was in flight
    second_device_pulls_everything(
        server, template, device, "killclient", user_id, tmp_path, kill=True
    )


@pytest.mark.slow
@sqlite_only
def test_client_killed_many_times_resumes(template, server, tmp_path):
    device = copy_of(template, tmp_path / "a")
    user_id = register(device, server, "killmany")
    ends = Ends.of(server, device, user_id)
    rng = random.Random(SEED)
    points = [
        rng.choice(["first-push", "next-batch", "mid-request", "mid-request", "random"])
        for _ in range(15)
    ]
    kill_client_repeatedly(ends, points, rng)
    finish(ends)
    second_device_pulls_everything(
        server, template, device, "killmany", user_id, tmp_path, kill=True
    )


# -- the server killed --------------------------------------------------------------------------


def busy_workers(server: Server) -> list[int]:
    """The gunicorn workers holding a client connection right now: serving a request (Linux
    ``/proc``: their socket inodes against the established connections to the port)."""
    port = f":{server.port:04X}"
    established = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(port) and fields[3] == "01":  # local address, ESTABLISHED
            established.add(f"socket:[{fields[9]}]")
    busy = []
    for pid in server.live.worker_pids():
        with contextlib.suppress(OSError):
            fds = Path(f"/proc/{pid}/fd")
            if any(os.readlink(fds / fd) in established for fd in os.listdir(fds)):
                busy.append(pid)
    return busy


def kill_busy_worker(server: Server, process: subprocess.Popen) -> list[int]:
    """SIGKILL the worker(s) serving a request the moment one is seen (while ``process``
    runs); the pids killed."""
    while process.poll() is None:
        busy = busy_workers(server)
        if busy:
            for pid in busy:
                os.kill(pid, signal.SIGKILL)
            return busy
        time.sleep(0.001)
    return []


def test_server_killed_mid_sync_resumes(template, server, tmp_path):
    # one worker dies serving a push (gunicorn starts another): that request fails, exit 5.
    # Seen busy is not always still busy a moment later (it may have just answered, and the
    # client goes on with the other worker): then start over with a fresh first sync.
    for attempt in range(3):
        name = f"killserver{attempt}"
        device = copy_of(template, tmp_path / f"a{attempt}")
        user_id = register(device, server, name)
        ends = Ends.of(server, device, user_id)
        total = len(ends.all_changes())
        process = start_sync(device)

        def pushed_once(ends=ends, process=process) -> bool:
            return ends.stored_count() > 0 or process.poll() is not None

        assert wait_until(pushed_once)
        killed = kill_busy_worker(server, process)
        _out, err = process.communicate(timeout=60)
        assert process.returncode in (0, 5), (process.returncode, err)
        unacked = ends.check(f"a worker killed (attempt {attempt + 1})")
        print(
            f"a worker killed ({killed}): the sync exited {process.returncode}; "
            f"{ends.stored_count()} stored, {unacked} unacknowledged"
        )
        assert server.live.wait_for_workers(2)  # the master replaced it
        if process.returncode == 5:
            assert b"unreachable" in err, err
            break
    else:
        pytest.fail("three kills of a busy worker all came after its answer")

    # all of gunicorn dies while a push is in flight: exit 5, the device's data intact. On a
    # loaded machine the rest of the sync may finish before the kill lands (exit 0): then the
    # same is tried on a fresh device's first sync, which has the whole collection to send.
    for retry in range(3):
        stored_before = ends.stored_count()
        process = start_sync(device)

        def pushed_more(ends=ends, before=stored_before, process=process) -> bool:
            return ends.stored_count() > before or process.poll() is not None

        def pushing(process=process) -> bool:
            return bool(busy_workers(server)) or process.poll() is not None

        assert wait_until(pushed_more)
        assert wait_until(pushing, interval=0.001)
        server.kill()
        _out, err = process.communicate(timeout=60)
        server.start()
        if process.returncode == 5:  # more to send, nobody there
            assert b"unreachable" in err, err
            break
        assert process.returncode == 0, (process.returncode, err)
        assert ends.check(f"gunicorn killed after the sync ended (try {retry + 1})") == 0
        name = f"killall{retry}"
        device = copy_of(template, tmp_path / f"b{retry}")
        user_id = register(device, server, name)
        ends = Ends.of(server, device, user_id)
    else:
        pytest.fail("three kills of gunicorn all came after the sync had ended")
    unacked = ends.check("gunicorn killed")
    print(f"gunicorn killed: {ends.stored_count()} stored, {unacked} unacknowledged")
    assert ends.stored_count() < total

    finish(ends)
    second_device_pulls_everything(server, template, device, name, user_id, tmp_path, kill=False)

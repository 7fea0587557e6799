#!/usr/bin/env python3
"""Issue 4's figures: flipdeck's sync beside Anki's on the same scenario, in the same run.

    python bench/sync_bench.py [--notes 10000] [--reviews 5000] [--runs 3] [--json]
                               [--anki]            # also run the peers' Anki sync benchmark
                                                   # (as many runs; medians side by side)
                               [--profile STEP]    # cProfile one step of the client (stderr)

The scenario of ``../shared/reference/sync-anchors.md`` §5: device A holds N Basic notes (one
card each; daily limits raised to 9,999 as in Anki's run); A signs in and does its first sync
(everything up); an empty device B signs in and syncs (everything down); R answers on A (ratings
15 % again, 10 % hard, 65 % good, 10 % easy, seed 1; each on a new card, as the clock stands
still); A syncs (the reviews up); B syncs (them down, its cards re-folded); then an idle sync on
A and one on B.

The server is `flipdeck-server serve --workers 2` as a subprocess on loopback (SQLite, the
default profile), the clients are in this process, as in Anki's benchmark. Times are
``time.perf_counter()`` around each `SyncEngine.sync()` only; requests and bytes are the
client's own count of what crossed the wire (request line, headers and body each way). Each
step's figure is the median of ``--runs`` fresh runs. At the end A and B are compared (cards'
scheduling state, notes, reviews): they must be identical.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT.parent / "shared" / "bench" / "peers"
sys.path.insert(0, str(ROOT / "src"))

from flipdeck.core.notetypes import BASIC  # noqa: E402
from flipdeck.store import config, decks, notes, presets  # noqa: E402
from flipdeck.store.collection import Collection  # noqa: E402
from flipdeck.store.session import StudySession  # noqa: E402
from flipdeck.sync.client import ServerClient  # noqa: E402
from flipdeck.sync.engine import SyncEngine  # noqa: E402

PASSWORD = "correct horse battery staple"
STEPS = ("first_sync_a", "first_sync_b", "push_reviews_a", "pull_reviews_b", "idle_a", "idle_b")
RATINGS = ((0.15, 1), (0.25, 2), (0.90, 3), (1.01, 4))
# Anki 26.9.3 at 10,000 notes, 5,000 reviews (sync-anchors.md §5): wall ms, requests, bytes
ANKI_RECORDED = {
    "first_sync_a": (108.2, 2, 1_015_908 + 346),
    "first_sync_b": (84.6, 2, 586 + 1_015_699),
    "push_reviews_a": (126.6, 47, 84_471 + 6_356),
    "pull_reviews_b": (102.8, 47, 13_131 + 77_558),
    "idle_a": (5.7, 7, 2_091 + 1_404),
    "idle_b": (5.5, 7, 2_091 + 1_404),
}


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """flipdeck-server (gunicorn, 2 workers) on a fresh SQLite file."""

    def __init__(self, work: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FLIPDECK_")},
            "PYTHONPATH": str(ROOT / "src"),
            "FLIPDECK_HOME": str(work),
            "FLIPDECK_DATABASE_URL": f"sqlite:///{work / 'server.db'}",
            "FLIPDECK_SECRET_KEY": os.urandom(32).hex(),
            "FLIPDECK_LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flipdeck.server",
                "serve",
                "--workers",
                "2",
                "--port",
                str(self.port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/ready", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("flipdeck-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def device(work: Path, name: str, now) -> Collection:
    (work / name).mkdir(parents=True, exist_ok=True)
    col = Collection.open(work / name / "collection.db", now=now)
    with col.transaction():
        config.set_value(col, "timezone", "UTC")
    return col


def build_a(col, n: int, seed: int) -> None:
    sys.path.insert(0, str(PEERS))
    try:
        import _common  # type: ignore[import-not-found]

        texts = _common.make_notes(n, seed=20261123)
    except ImportError:
        rng = random.Random(seed)
        texts = [(f"Question {i} {rng.random()}?", f"Answer {i}.", []) for i in range(n)]
    with col.transaction():
        deck = decks.create(col, "Bench")
        base = presets.load(col, deck.preset_id)
        limits = presets.save(
            col,
            base.__class__(id=col.new_id(), name="Bench", new_per_day=9999, reviews_per_day=9999),
        )
        decks.set_preset(col, deck, limits.id)
        for front, back, tags in texts:
            notes.add(col, BASIC, deck.id, [front, back], tags)


def answer(col, count: int, seed: int) -> int:
    rng = random.Random(seed)
    session = StudySession(col, decks.find(col, "Bench"))
    done = 0
    while done < count:
        if session.next_card() is None:
            break
        x = rng.random()
        session.answer(next(r for bound, r in RATINGS if x < bound))
        done += 1
    return done


def dump(col) -> tuple:
    cards = col.conn.execute(
        "SELECT id, deck_id, state, step, stability, difficulty, due, interval, reps, lapses"
        " FROM cards ORDER BY id"
    ).fetchall()
    reviews = col.conn.execute(
        "SELECT id, card_id, rating, reviewed_at FROM reviews ORDER BY id"
    ).fetchall()
    note_rows = col.conn.execute("SELECT id, fields, tags FROM notes ORDER BY id").fetchall()
    return cards, reviews, note_rows


def one_run(args, work: Path) -> dict:
    server = Server(work)
    clock = [int(time.time() * 1000)]
    now = lambda: clock[0]  # noqa: E731  (a clock standing still: learning cards wait)
    try:
        a = device(work, "a", now)
        log(f"building {args.notes} notes on A …")
        build_a(a, args.notes, args.seed)
        client_a = ServerClient(server.url)
        client_a.register("bench", "bench@example.com", PASSWORD, "A")
        steps = {}

        def step(name, col, client):
            before = (client.requests, client.bytes_sent, client.bytes_received)
            profiler = cProfile.Profile() if name == args.profile else None
            t0 = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            report = SyncEngine(col, client).sync()
            ms = (time.perf_counter() - t0) * 1000
            if profiler is not None:
                profiler.disable()
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
            steps[name] = {
                "ms": round(ms, 2),
                "requests": client.requests - before[0],
                "bytes_up": client.bytes_sent - before[1],
                "bytes_down": client.bytes_received - before[2],
                "pushed": report.pushed,
                "pulled": report.pulled,
            }
            log(f"  {name}: {steps[name]}")

        step("first_sync_a", a, client_a)
        b = device(work, "b", now)
        client_b = ServerClient(server.url)
        client_b.login("bench", PASSWORD, "B")
        step("first_sync_b", b, client_b)
        answered = answer(a, args.reviews, args.seed)
        step("push_reviews_a", a, client_a)
        step("pull_reviews_b", b, client_b)
        step("idle_a", a, client_a)
        step("idle_b", b, client_b)
        converged = dump(a) == dump(b)
        client_a.close()
        client_b.close()
        a.close()
        b.close()
        return {"steps": steps, "answered": answered, "converged": converged}
    finally:
        server.stop()


def run_anki(notes_: int, reviews: int) -> dict:
    peer_dir = Path(os.environ.get("PEER_DIR") or Path(tempfile.gettempdir()) / "peer")
    python = peer_dir / "venv" / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"no peers' venv at {python}: see {PEERS / 'README.md'}")
    done = subprocess.run(
        [
            python,
            PEERS / "anki_sync_bench.py",
            "--notes",
            str(notes_),
            "--reviews",
            str(reviews),
            "--no-probes",
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PEER_DIR": str(peer_dir)},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


ANKI_STEP_NAMES = {
    "first_sync_a": "first_sync_A_upload",
    "first_sync_b": "first_sync_B_download",
    "push_reviews_a": "sync_A_after_reviews",
    "pull_reviews_b": "sync_B_pull_reviews",
    "idle_a": "idle_sync_A_after_B",
    "idle_b": "idle_sync_B_after_A",
}
"""Our step names → the keys of the peers' script's JSON (``wall_s``, ``payload_bytes``,
``steps``)."""


def anki_steps(peer: dict) -> dict:
    """Anki's figures for our step names, from its benchmark's JSON line."""
    wall = peer["wall_s"]
    payload = peer["payload_bytes"]
    out = {}
    for ours, theirs in ANKI_STEP_NAMES.items():
        bytes_ = payload.get(theirs, {})
        out[ours] = {
            "ms": round(wall.get(theirs, float("nan")) * 1000, 2),
            "requests": (peer.get("steps", {}).get(theirs, {}) or {}).get("requests"),
            "bytes": (bytes_.get("up", 0) + bytes_.get("down", 0)) if bytes_ else None,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--reviews", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--profile", choices=STEPS, help="print the client's cProfile of one step (to stderr)"
    )
    parser.add_argument("--anki", action="store_true", help="also run Anki's benchmark now")
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        work = Path(tempfile.mkdtemp(prefix="flipdeck-sync-bench-"))
        try:
            log(f"run {i + 1}/{args.runs}")
            runs.append(one_run(args, work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    summary = {}
    for name in STEPS:
        values = [r["steps"][name] for r in runs]
        summary[name] = {
            "ms": round(statistics.median(v["ms"] for v in values), 2),
            "runs_ms": [v["ms"] for v in values],
            "requests": values[0]["requests"],
            "bytes": statistics.median(v["bytes_up"] + v["bytes_down"] for v in values),
            "pushed": values[0]["pushed"],
            "pulled": values[0]["pulled"],
        }
    anki = None
    if args.anki:
        peer_runs = []
        for i in range(args.runs):
            log(f"Anki's sync benchmark (peers' script), run {i + 1}/{args.runs} …")
            peer_runs.append(anki_steps(run_anki(args.notes, args.reviews)))
        anki = {
            name: {
                "ms": round(statistics.median(r[name]["ms"] for r in peer_runs), 2),
                "runs_ms": [r[name]["ms"] for r in peer_runs],
                "requests": peer_runs[0][name]["requests"],
                "bytes": peer_runs[0][name]["bytes"],
            }
            for name in STEPS
        }
    result = {
        "bench": "sync_bench",
        "notes": args.notes,
        "reviews": runs[0]["answered"],
        "converged": all(r["converged"] for r in runs),
        "steps": summary,
        "anki": anki,
        "anki_recorded": {
            k: {"ms": v[0], "requests": v[1], "bytes": v[2]} for k, v in ANKI_RECORDED.items()
        },
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"flipdeck sync, {args.notes} notes, {result['reviews']} reviews, median of "
        f"{args.runs} runs; converged: {result['converged']}"
    )
    print(
        f"{'step':<16}{'flipdeck ms':>12}{'req':>6}{'bytes':>10}   {'Anki ms':>9}{'req':>6}"
        f"{'bytes':>10}{'ratio':>7}"
    )
    for name in STEPS:
        ours = summary[name]
        theirs = (anki or result["anki_recorded"])[name]
        ratio = ours["ms"] / theirs["ms"] if theirs.get("ms") else float("nan")
        print(
            f"{name:<16}{ours['ms']:>12.1f}{ours['requests']:>6}{ours['bytes']:>10.0f}   "
            f"{theirs['ms']:>9.1f}{theirs.get('requests') or '-':>6}"
            f"{theirs.get('bytes') or '-':>10}{ratio:>7.2f}"
        )


if __name__ == "__main__":
    main()

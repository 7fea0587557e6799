#!/usr/bin/env python3
"""Issue 2's figures on a 100k-card collection with a realistic review history.

    python bench/collection_bench.py [--n 100000] [--answers 1000] [--runs 9] [--json]
                                     [--out DIR] [--keep]

Build (not timed): the deck text of the peers' generator (``../shared/bench/peers/_common.py``,
seed 20261123, the same notes Anki was measured on), one Basic note per row in deck "Bench"
(preset: 100 new and 9999 reviews a day, as the Anki study benchmark). 70 % of the cards get a
history simulated with flipdeck's own scheduler: a first answer 1–400 days ago, then an answer
at each due time (ratings 10 % again, 5 % hard, 75 % good, 10 % easy, answered 0–6 h after
the card came due) until the card is due after now or has 2–12 answers. That is ~500k review
events for 100k cards. Derived state is then computed by the timed rebuild.

Figures (times with ``time.perf_counter()`` around the measured step only):

* ``rebuild_s`` — `reviews.rebuild`: every card re-folded from the log (one run; target ≤ 10 s;
  Anki switching FSRS on for 70k cards / 492k revlog rows: 0.90–0.95 s, in Rust).
* ``due_cold_ms`` — `flipdeck due --json` and `flipdeck due` as new processes, ``--runs`` each;
  median and minimum (target median ≤ 200 ms; Anki: import 90–100 ms + open 60 ms + first
  queue 26 ms ≈ 180 ms).
* ``queue_build_ms`` — building the study queue for "Bench" in an open collection.
* ``next_card_ms`` — `StudySession.next_card()` (queue pop + the card's row, note and deck),
  p50/p99 over ``--answers`` cards (target p99 ≤ 1 ms; Anki 0.06 ms).
* ``answer_ms`` — `StudySession.answer()` including the FSRS step, leech/sibling handling, the
  change-log record and the durable commit (``synchronous=FULL``), median/p99 (target median
  ≤ 0.5 ms; Anki 0.37–0.41 ms including its fetch).

Prints one JSON object (``--json``) or a readable comparison. With ``--anki``, Anki 26.9.3 is
measured in the same run by the peers' own script (``../shared/bench/peers/anki_study.py``,
with the interpreter of the peers' venv, ``$PEER_DIR/venv/bin/python``; see the README beside
it) and its figures are printed beside flipdeck's; without it, the figures recorded in
``../shared/reference/performance-anchors.md`` are shown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT.parent / "shared" / "bench" / "peers"
sys.path.insert(0, str(ROOT / "src"))

from flipdeck.core.notetypes import BASIC  # noqa: E402
from flipdeck.core.scheduling import REVIEW, CardState, Event  # noqa: E402
from flipdeck.store import decks, notes, presets, reviews  # noqa: E402
from flipdeck.store.collection import Collection  # noqa: E402

DAY_MS = 86_400_000
RATING_MIX = ((0.10, 1), (0.15, 2), (0.90, 3), (1.01, 4))
ANKI = {
    "rebuild_s": "0.90–0.95 s (switch FSRS on: 70k cards / 492k revlog rows, Rust)",
    "due_cold_ms": "≈180 ms (import anki 90–100 + open 60 + first queue 26)",
    "next_card_ms": "0.06 ms (queue built)",
    "answer_ms": "0.37–0.41 ms (fetch + build answer + answer_card, committed)",
}


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def deck_text(n: int) -> list[tuple[str, str, list[str]]]:
    """The peers' deterministic deck (or a local stand-in if ../shared is absent)."""
    if (PEERS / "_common.py").exists():
        sys.path.insert(0, str(PEERS))
        import _common  # type: ignore[import-not-found]

        return _common.make_notes(n)
    rng = random.Random(20261123)
    return [(f"Question {i} {rng.random()}?", f"Answer {i}.", ["bench"]) for i in range(n)]


def pick_rating(rng: random.Random) -> int:
    x = rng.random()
    return next(r for bound, r in RATING_MIX if x < bound)


def build(path: Path, n: int, now: int, seed: int = 20261123) -> dict:
    """Create the collection at ``path``; returns build statistics."""
    started = time.perf_counter()
    col = Collection.open(path, now=lambda: now)
    with col.transaction():
        deck = decks.create(col, "Bench")
        base = presets.load(col, deck.preset_id)
        bench = presets.save(
            col,
            base.__class__(id=col.new_id(), name="Bench", new_per_day=100, reviews_per_day=9999),
        )
        decks.set_preset(col, deck, bench.id)
    scheduler = presets.scheduler(col, bench.id)
    front_id, back_id = (f.id for f in BASIC.fields)
    template = BASIC.templates[0].id
    rng = random.Random(seed)
    note_rows, card_rows, review_rows = [], [], []
    created0 = now - 400 * DAY_MS - 1000 * n
    for i, (front, back, tags) in enumerate(deck_text(n)):
        note_id = col.new_id()
        fields = {front_id: notes_html(front), back_id: notes_html(back)}
        note_rows.append(
            (
                note_id,
                BASIC.id,
                notes.new_guid(),
                json.dumps(fields, ensure_ascii=False),
                notes.format_tags(tags),
                created0 + i * 1000,
                notes.search_text(BASIC, fields),
            )
        )
        card_id = notes.card_id(note_id, template)
        card_rows.append((card_id, note_id, template, deck.id, created0 + i * 1000))
        if rng.random() < 0.70:
            review_rows.extend(simulate(scheduler, card_id, rng, now))
    log(f"build: {len(note_rows)} notes, {len(review_rows)} review events; inserting")
    conn = col.conn
    with col.transaction():
        conn.executemany(
            "INSERT INTO notes(id, notetype_id, guid, fields, tags, created, search, deleted,"
            " clock) VALUES (?, ?, ?, ?, ?, ?, ?, 0, '{}')",
            note_rows,
        )
        conn.executemany(
            "INSERT INTO cards(id, note_id, template, deck_id, due, queue, state, deleted,"
            " clock) VALUES (?, ?, ?, ?, ?, 0, 0, 0, '{}')",
            card_rows,
        )
        conn.executemany(
            "INSERT INTO reviews(id, card_id, rating, reviewed_at, duration_ms, kind)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            review_rows,
        )
    col.close()
    return {
        "notes": len(note_rows),
        "cards": len(card_rows),
        "reviews": len(review_rows),
        "build_s": round(time.perf_counter() - started, 1),
    }


def notes_html(text: str) -> str:
    import html

    return html.escape(text, quote=False).replace("\n", "<br>")


def simulate(scheduler, card_id: str, rng: random.Random, now: int) -> list[tuple]:
    """A plausible history of 2–12 answers, each given 0–6 h after the card came due, ending
    on a review card; the whole history is then shifted so that the last answer lies within
    one interval (plus two days) before now, as for someone who keeps up with reviews."""
    from flipdeck.core.ids import uuid7

    wanted = rng.randint(2, 12)
    at = 0
    state = CardState()
    history = []
    while len(history) < wanted or state.state != REVIEW:
        rating = pick_rating(rng) if len(history) < wanted else 3
        event_id = uuid7()
        kind = {0: "learn", 1: "learn", 2: "review", 3: "relearn"}[state.state]
        history.append((event_id, rating, at, rng.randint(2000, 15000), kind))
        state = scheduler.apply(card_id, state, Event(event_id, at, rating))
        delay = rng.randint(0, 6 * 3_600_000) if state.state == REVIEW else rng.randint(0, 60_000)
        at = state.due + delay
    last = history[-1][2]
    # due dates land between two days ago and one interval ahead (Anki's bench: overdue 2 d)
    shift = now - last - rng.randint(1, state.interval + 2) * DAY_MS - rng.randint(1, DAY_MS)
    return [(e, card_id, r, t + shift, d, k) for e, r, t, d, k in history]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def time_due(home: Path, runs: int, args: list[str]) -> dict:
    env = {**os.environ, "FLIPDECK_HOME": str(home), "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "flipdeck", "due", *args]
    env["PYTHONPATH"] = str(ROOT / "src")
    subprocess.run(cmd, env=env, check=True, capture_output=True)  # warm the page cache
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True)
        samples.append((time.perf_counter() - t0) * 1000)
        if done.returncode != 0:
            raise SystemExit(f"flipdeck due failed: {done.stderr.decode()}")
    return {
        "median": round(statistics.median(samples), 1),
        "min": round(min(samples), 1),
        "max": round(max(samples), 1),
        "runs": runs,
        "output_bytes": len(done.stdout),
    }


def time_study(path: Path, answers: int, seed: int) -> dict:
    col = Collection.open(path)
    from flipdeck.store.session import StudySession

    t0 = time.perf_counter()
    session = StudySession(col, decks.find(col, "Bench"))
    build_ms = (time.perf_counter() - t0) * 1000
    counts = session.counts()
    rng = random.Random(seed)
    next_ms, answer_ms = [], []
    for _ in range(answers):
        t0 = time.perf_counter()
        card = session.next_card()
        t1 = time.perf_counter()
        if card is None:
            break
        session.answer(pick_rating(rng))
        t2 = time.perf_counter()
        next_ms.append((t1 - t0) * 1000)
        answer_ms.append((t2 - t1) * 1000)
    col.close()
    return {
        "queue_build_ms": round(build_ms, 2),
        "queue_counts": {"new": counts.new, "learning": counts.learning, "review": counts.review},
        "answered": len(answer_ms),
        "next_card_ms": {
            "p50": round(statistics.median(next_ms), 4),
            "p99": round(percentile(next_ms, 99), 4),
        },
        "answer_ms": {
            "median": round(statistics.median(answer_ms), 4),
            "p99": round(percentile(answer_ms, 99), 4),
        },
    }


def time_rebuild(path: Path) -> dict:
    col = Collection.open(path)
    t0 = time.perf_counter()
    count = reviews.rebuild(col)
    seconds = time.perf_counter() - t0
    due_now = col.conn.execute(
        "SELECT count(*) FROM cards WHERE queue = 2 AND due < ?",
        (col.now() + DAY_MS,),
    ).fetchone()[0]
    col.close()
    return {
        "rebuild_s": round(seconds, 2),
        "cards": count,
        "review_cards_due_within_a_day": due_now,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the built collection")
    parser.add_argument(
        "--anki", action="store_true", help="also run Anki's study benchmark (peers' venv)"
    )
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="flipdeck-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    home.mkdir(exist_ok=True)
    template = work / "template.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{template}{suffix}").unlink(missing_ok=True)
    now = int(time.time() * 1000)
    log(f"building a {args.n}-card collection in {work} …")
    built = build(template, args.n, now)
    log("rebuild …")
    rebuilt = time_rebuild(template)
    db = home / "collection.db"
    shutil.copy(template, db)
    log("flipdeck due, cold processes …")
    due_json = time_due(home, args.runs, ["--json"])
    due_table = time_due(home, args.runs, [])
    log("study loop …")
    studied = time_study(db, args.answers, 7)
    result = {
        "bench": "collection_bench",
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "build": built,
        "rebuild": rebuilt,
        "due_cold_ms": {"json": due_json, "table": due_table},
        **studied,
        "anki_anchors": ANKI,
    }
    if args.anki:
        log("Anki's study benchmark (peers' script) …")
        result["anki"] = run_anki(args.n)
    if not args.keep and args.out is None:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
        return
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(side_by_side(result), file=sys.stderr)


def run_anki(n: int) -> dict:
    """Anki's own figures for the same jobs, from the peers' script, on this machine now."""
    peer_dir = Path(os.environ.get("PEER_DIR") or Path(tempfile.gettempdir()) / "peer")
    python = peer_dir / "venv" / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"no peers' venv at {python}: see {PEERS / 'README.md'}")
    env = {**os.environ, "PEER_DIR": str(peer_dir)}
    data = peer_dir / "data" / f"deck_{n}.csv"
    if not data.exists():
        subprocess.run([python, PEERS / "gen_data.py", "--n", str(n)], env=env, check=True)
    done = subprocess.run(
        [python, PEERS / "anki_study.py", "--n", str(n)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    peer = json.loads(done.stdout.strip().splitlines()[-1])["results"]
    study = peer["study"]["median"]
    return {
        "fsrs_enable_s": peer["fsrs_enable"]["median"]["fsrs_enable_s"],
        "import_open_first_card_ms": round(
            (study["import_anki_s"] + study["open_s"] + study["first_card_s"]) * 1000, 1
        ),
        "next_card_cached_ms": round(study["next_card_cached_s"] * 1000, 4),
        "ms_per_answer_loop": study["ms_per_answer"],
        "ms_per_answer_card": round(study["answer_s"] / study["answered"] * 1000, 4),
        "queue_counts": study["queue_counts"],
        "revlog_rows": peer["build"]["revlog_rows"],
    }


def side_by_side(result: dict) -> str:
    """The headline figures, flipdeck beside Anki."""
    anki = result.get("anki")
    rows = [
        (
            "rebuild all derived state (s)",
            result["rebuild"]["rebuild_s"],
            f"{anki['fsrs_enable_s']} (switch FSRS on, {anki['revlog_rows']} revlog rows)"
            if anki
            else ANKI["rebuild_s"],
        ),
        (
            "`flipdeck due` cold process, median (ms)",
            result["due_cold_ms"]["json"]["median"],
            f"{anki['import_open_first_card_ms']} (import + open + first queue, in-process)"
            if anki
            else ANKI["due_cold_ms"],
        ),
        (
            "next card, p99 (ms)",
            result["next_card_ms"]["p99"],
            f"{anki['next_card_cached_ms']} (second get_queued_cards)"
            if anki
            else ANKI["next_card_ms"],
        ),
        (
            "answer incl. commit, median (ms)",
            result["answer_ms"]["median"],
            f"{anki['ms_per_answer_loop']} (fetch + answer, mean of 1000)"
            if anki
            else ANKI["answer_ms"],
        ),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'':{width}}  {'flipdeck':>10}  Anki 26.9.3"]
    lines += [f"{name:{width}}  {ours:>10}  {theirs}" for name, ours, theirs in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

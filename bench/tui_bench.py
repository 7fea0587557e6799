#!/usr/bin/env python3
"""Issue 5's figures: the TUI on a 100k-card collection with ~500k reviews.

    python bench/tui_bench.py [--n 100000] [--answers 100] [--runs 3] [--json]
                              [--collection PATH] [--keep]

Build (not timed): ``collection_bench.build`` (the same 100k Basic notes in deck "Bench" and
simulated history) and ``reviews.rebuild`` for the derived state; ``--collection`` reuses a
built file (it is copied for each run, never changed). Each run is a new Python process that
measures itself:

* ``launch_to_first_card_s`` — from the process starting (before ``import textual``) until the
  study screen of `flipdeck tui Bench` has mounted its first card: imports, opening the
  collection, building the queue, composing and the first layout (textual's headless driver,
  ``App.run_test``, so the terminal's own drawing is not counted). Target ≤ 1 s.
* ``keypress_to_next_card_ms`` — a key press "3" (Good) on the answer side, sent through the
  Pilot, until the first frame composited after the next card was put in the card view
  (answer committed, next card read and rendered, screen drawn); p50/p99 over ``--answers``
  cards. Target ≤ 30 ms. ``of_which_store_answer_ms`` is the part spent in
  ``StudySession.answer`` (the FSRS step and the durable commit, which waits for fsync), and
  ``keypress_minus_store_ms`` the rest (key handling, reading and drawing the next card).
  ``pilot_press_ms_p50`` is how long ``Pilot.press`` itself took,
  which adds the Pilot's own waiting for the app to go idle.
* ``browse_open_ms`` / ``browse_page_ms`` — the browser listing all 100k cards (search + first
  draw, through the Pilot), and a Page Down in it until the next frame is drawn (p99), to
  show the table stays smooth.
* ``rss_mb`` — peak resident memory (``VmHWM``) of the process at the end. Target ≤ 150 MB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

TARGETS = {
    "launch_to_first_card_s": ("≤ 1 s", 1.0),
    "keypress_to_next_card_ms_p99": ("≤ 30 ms", 30.0),
    "rss_mb": ("≤ 150 MB", 150.0),
}

# One run, in its own process: the start time is taken before anything heavy is imported.
CHILD = r"""
import time
START = time.perf_counter()
import asyncio, json, os, sys
sys.path.insert(0, {src!r})

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

async def main(path, answers):
    from flipdeck.tui import make_app
    from flipdeck.tui.screens.study import StudyScreen
    out = {{}}
    app = make_app(path, study={deck!r}, theme="flipdeck-dark")
    async with app.run_test(size=(120, 40)) as pilot:
        while not (isinstance(app.screen, StudyScreen) and app.screen.session
                   and app.screen.session.current is not None):
            await asyncio.sleep(0.001)
        await pilot.pause()
        out["launch_to_first_card_s"] = time.perf_counter() - START
        screen = app.screen
        # instants the screen was composited (drawn), and the card view given a new card
        frames, shown = [], []
        composite, show = screen._compositor_refresh, screen.card_view.show
        def traced_composite():
            composite()
            frames.append(time.perf_counter())
        def traced_show(*args, **kwargs):
            show(*args, **kwargs)
            shown.append(time.perf_counter())
        screen._compositor_refresh = traced_composite
        screen.card_view.show = traced_show
        # the store's part: StudySession.answer, whose durable commit (synchronous=FULL)
        # waits for the disk's fsync
        stored, answer = [], screen.session.answer
        def traced_answer(rating):
            t = time.perf_counter()
            try:
                return answer(rating)
            finally:
                stored.append((time.perf_counter() - t) * 1000)
        screen.session.answer = traced_answer
        times, pilot_times, ui = [], [], []
        for _ in range(answers):
            await pilot.press("space")
            if screen.phase != "back":
                break
            before = screen.session.current.id
            del shown[:]
            t0 = time.perf_counter()
            await pilot.press("3")
            pilot_times.append((time.perf_counter() - t0) * 1000)
            drawn = [f for f in frames if shown and f >= shown[-1]]
            if not drawn:
                break
            times.append((drawn[0] - t0) * 1000)
            ui.append(times[-1] - stored[-1])
            if screen.session.current is None or screen.session.current.id == before:
                break
        out["answer_ms"] = times
        out["pilot_ms"] = pilot_times
        out["store_ms"] = stored
        out["ui_ms"] = ui
        t0 = time.perf_counter()
        await pilot.press("escape", "b")
        await app.workers.wait_for_complete()  # the search runs in a worker
        await pilot.pause()
        out["browse_open_ms"] = (time.perf_counter() - t0) * 1000
        out["browse_cards"] = len(app.screen.grid.ids)
        browse, browse_frames = app.screen, []
        browse_composite = browse._compositor_refresh
        def traced_browse():
            browse_composite()
            browse_frames.append(time.perf_counter())
        browse._compositor_refresh = traced_browse
        pages = []
        for _ in range(20):
            t0 = time.perf_counter()
            await pilot.press("pagedown")
            drawn = [f for f in browse_frames if f >= t0]
            if drawn:
                pages.append((drawn[0] - t0) * 1000)
        out["page_ms"] = pages
    out["rss_mb"] = rss_mb()
    print("RESULT " + json.dumps(out))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0


def build(path: Path, n: int) -> dict:
    """The benchmark collection (collection_bench's), with its derived state rebuilt."""
    from collection_bench import build as build_collection
    from flipdeck.store import reviews
    from flipdeck.store.collection import Collection

    built = build_collection(path, n, int(time.time() * 1000))
    with Collection.open(path) as col:
        reviews.rebuild(col)
    return built


def run_once(template: Path, work: Path, answers: int) -> dict:
    """Copy the collection, run the app in a new process on it, return its figures."""
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    db = home / "collection.db"
    shutil.copy(template, db)
    script = CHILD.format(src=str(ROOT / "src"), deck="Bench")
    env = {"FLIPDECK_HOME": str(home), "PATH": "/usr/bin:/bin", "TEXTUAL_ANIMATIONS": "none"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(db), str(answers)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"the app failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[0].removeprefix("RESULT "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--collection", type=Path, help="a built collection to reuse")
    parser.add_argument("--keep", action="store_true", help="keep the built collection")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="flipdeck-tui-bench-"))
    built = None
    template = args.collection
    if template is None or not template.exists():
        template = template or work / "template.db"
        log(f"building a {args.n}-card collection at {template} (a minute or two) …")
        built = build(template, args.n)
    runs = []
    for number in range(args.runs):
        log(f"run {number + 1}/{args.runs} …")
        runs.append(run_once(template, work, args.answers))
    answers = [t for r in runs for t in r["answer_ms"]]
    pages = [t for r in runs for t in r["page_ms"]]
    result = {
        "bench": "tui_bench",
        "build": built,
        "collection": str(template),
        "runs": args.runs,
        "launch_to_first_card_s": round(
            statistics.median(r["launch_to_first_card_s"] for r in runs), 3
        ),
        "launch_to_first_card_s_max": round(max(r["launch_to_first_card_s"] for r in runs), 3),
        "keypress_to_next_card_ms_p50": round(percentile(answers, 50), 1),
        "keypress_to_next_card_ms_p99": round(percentile(answers, 99), 1),
        "answers_timed": len(answers),
        "of_which_store_answer_ms_p50": round(
            percentile([t for r in runs for t in r["store_ms"]], 50), 1
        ),
        "of_which_store_answer_ms_p99": round(
            percentile([t for r in runs for t in r["store_ms"]], 99), 1
        ),
        "keypress_minus_store_ms_p99": round(
            percentile([t for r in runs for t in r["ui_ms"]], 99), 1
        ),
        "pilot_press_ms_p50": round(percentile([t for r in runs for t in r["pilot_ms"]], 50), 1),
        "browse_cards": runs[0]["browse_cards"],
        "browse_open_ms": round(statistics.median(r["browse_open_ms"] for r in runs), 1),
        "browse_page_ms_p99": round(percentile(pages, 99), 1),
        "rss_mb": round(max(r["rss_mb"] for r in runs), 1),
    }
    if not args.keep and args.collection is None:
        shutil.rmtree(work, ignore_errors=True)
    elif args.keep:
        log(f"kept: {template} (pass it back with --collection)")
    if args.json:
        print(json.dumps(result))
        return
    print(json.dumps(result, indent=2, ensure_ascii=False))
    for key, (target, limit) in TARGETS.items():
        value = result[key]
        verdict = "ok" if value <= limit else "MISSED"
        print(f"{key:32} {value:>9}   target {target:10} {verdict}", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""CSV import figures: flipdeck importing the peers' deck beside Anki and the SQLite floor.

    python bench/import_csv_bench.py [--n 100000] [--runs 3] [--json] [--anki] [--floor]

Input: ``$PEER_DIR/data/deck_N.csv`` from ``../shared/bench/peers/gen_data.py`` (seed 20261123;
headers ``#separator:Comma``, ``#html:false``, ``#tags column:3``, ``#deck:Bench``), the very
file Anki is timed on. Each run imports it into a fresh collection (created outside the timer)
with the command's own code path (``formats.detect.import_text_data``: decode, parse, match,
bulk insert with change records and cards, one commit), then imports it again into the populated
collection (duplicate matching; must add nothing). Median of ``--runs``.

``--anki`` runs the peers' ``anki_import.py --what csv`` with the peer venv's interpreter
(``$PEER_DIR/venv/bin/python``) in the same run; ``--floor`` runs ``sqlite_limit.py`` (a raw
``executemany`` of the same rows, WAL, one transaction). Without them, the figures recorded in
``../shared/reference/performance-anchors.md`` are used for the ratios.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _peers import PEER_DIR, PEERS, peer  # noqa: E402

ANCHORS = {  # performance-anchors.md §1 and §4, 100k rows
    100_000: {"anki_import_s": 1.985, "anki_reimport_s": 1.605, "floor_s": 0.238},
    10_000: {"anki_import_s": 0.198, "anki_reimport_s": 0.135, "floor_s": 0.0157},
}


def run_once(path: Path, tmp: Path) -> dict:
    from flipdeck.formats.detect import import_text_data
    from flipdeck.formats.summary import ImportOptions, no_progress
    from flipdeck.store.collection import Collection

    work = Path(tempfile.mkdtemp(dir=tmp))
    try:
        col = Collection.open(work / "collection.db")
        data_path = str(path)
        os.sync()
        t0 = time.perf_counter()
        data = Path(data_path).read_bytes()
        first, _ = import_text_data(col, data, "csv", ImportOptions(), no_progress, name=path.name)
        t1 = time.perf_counter()
        data = Path(data_path).read_bytes()
        second, _ = import_text_data(col, data, "csv", ImportOptions(), no_progress, name=path.name)
        t2 = time.perf_counter()
        counts = {
            "notes": col.conn.execute("SELECT count(*) FROM notes").fetchone()[0],
            "cards": col.conn.execute("SELECT count(*) FROM cards").fetchone()[0],
            "changes": col.conn.execute("SELECT count(*) FROM changes").fetchone()[0],
        }
        col.close()
        return {
            "import_s": t1 - t0,
            "reimport_s": t2 - t1,
            "added": first.added,
            "reimport_added": second.added,
            "reimport_updated": second.updated,
            "reimport_skipped": second.skipped,
            **counts,
            "db_bytes": (work / "collection.db").stat().st_size,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--anki", action="store_true", help="time Anki in the same run")
    ap.add_argument("--floor", action="store_true", help="time the SQLite floor in the same run")
    a = ap.parse_args()
    path = PEER_DIR / "data" / f"deck_{a.n}.csv"
    if not path.exists():
        sys.exit(f"{path} is missing: run {PEERS / 'gen_data.py'} --n {a.n} first")
    # imports are not part of the figure (Anki's bench excludes `import anki` too)
    for module in ("flipdeck.formats.detect", "flipdeck.formats.csvfile", "flipdeck.store.bulk"):
        importlib.import_module(module)

    tmp = Path(tempfile.mkdtemp(prefix="flipdeck-bench-"))
    try:
        runs = [run_once(path, tmp) for _ in range(a.runs)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(r[k] for r in runs) for k in ("import_s", "reimport_s")}
    ref = dict(ANCHORS.get(a.n, {}))
    source = "performance-anchors.md"
    if a.anki:
        got = peer("anki_import.py", a.n, "--what", "csv")
        if got:
            m = got["results"]["csv"]["median"]
            ref["anki_import_s"] = m["csv_total_s"]
            ref["anki_reimport_s"] = m["csv_reimport_s"]
            source = "measured in this run"
    if a.floor:
        got = peer("sqlite_limit.py", a.n, "--variants", "executemany_wal_full")
        if got:
            ref["floor_s"] = got["results"]["executemany_wal_full"]["median"]["insert_s"]
            source += "; floor measured in this run"
    result = {
        "n": a.n,
        "runs": runs,
        "import_s": round(med["import_s"], 4),
        "import_notes_per_s": round(a.n / med["import_s"]),
        "reimport_s": round(med["reimport_s"], 4),
        "reimport_notes_per_s": round(a.n / med["reimport_s"]),
        "reference": ref,
        "reference_source": source,
    }
    if ref:
        result["import_vs_anki"] = round(med["import_s"] / ref["anki_import_s"], 3)
        result["reimport_vs_anki"] = round(med["reimport_s"] / ref["anki_reimport_s"], 3)
        result["import_vs_floor"] = round(med["import_s"] / ref["floor_s"], 2)
    if a.json:
        print(json.dumps(result))
        return
    print(f"flipdeck CSV import, {a.n:,} notes ({a.runs} runs, median); Anki: {source}")
    print(
        f"  import    {result['import_s']:.3f} s  {result['import_notes_per_s']:>8,} notes/s"
        f"  ×{result.get('import_vs_anki', float('nan')):.2f} Anki"
        f"  ×{result.get('import_vs_floor', float('nan')):.1f} SQLite floor"
    )
    print(
        f"  re-import {result['reimport_s']:.3f} s  {result['reimport_notes_per_s']:>8,} notes/s"
        f"  ×{result.get('reimport_vs_anki', float('nan')):.2f} Anki"
        f"  (added {runs[0]['reimport_added']}, skipped {runs[0]['reimport_skipped']})"
    )


if __name__ == "__main__":
    main()

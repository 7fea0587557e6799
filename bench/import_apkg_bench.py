#!/usr/bin/env python3
"""Anki package import figures: flipdeck importing the peers' .apkg beside Anki and SQLite.

    python bench/import_apkg_bench.py [--n 100000] [--runs 1] [--json] [--no-peers]

Input: ``$PEER_DIR/data/deck_N.apkg`` from ``../shared/bench/peers/gen_data.py`` (genanki, seed
20261123), the very file Anki is timed on. Each run imports it into a fresh collection (created
outside the timer) through ``formats.apkg.import_package``: unzip and read the collection, map
note types and decks, bulk insert notes, cards and their change records, one commit.

In the same run (unless ``--no-peers``): Anki importing the same file
(``anki_import.py --what apkg`` with ``$PEER_DIR/venv/bin/python``) and the SQLite floor
(``sqlite_limit.py``: one ``executemany`` of the same rows, WAL, synchronous FULL as flipdeck
uses). A third figure, the *store floor*, is a raw ``executemany`` of exactly the rows flipdeck's
import wrote (notes, cards, change records, then its indexes, one commit): what the row format
itself costs, whatever the Python in front of it does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _peers import PEER_DIR, PEERS, peer  # noqa: E402

ANCHORS = {  # performance-anchors.md §1 (Anki .apkg import) and §4 (floor), medians
    100_000: {"anki_import_s": 1.565, "floor_s": 0.238},
    10_000: {"anki_import_s": 0.160, "floor_s": 0.0157},
}


def run_once(path: Path, tmp: Path) -> dict:
    from flipdeck.formats.apkg import import_package
    from flipdeck.formats.summary import ImportOptions
    from flipdeck.store.collection import Collection

    work = Path(tempfile.mkdtemp(dir=tmp))
    try:
        col = Collection.open(work / "collection.db")
        os.sync()
        t0 = time.perf_counter()
        summary = import_package(col, path, ImportOptions())
        elapsed = time.perf_counter() - t0
        counts = {
            table: col.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("notes", "cards", "changes")
        }
        col.close()
        store_floor = _store_floor(work / "collection.db", work)
        return {
            "import_s": elapsed,
            "added": summary.added,
            "cards": summary.cards,
            **counts,
            "db_bytes": (work / "collection.db").stat().st_size,
            "store_floor_s": store_floor,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _store_floor(source: Path, work: Path) -> float:
    """Seconds to insert the rows the import wrote into an empty collection of the same
    schema with bare ``executemany`` calls and one commit (indexes built afterwards, as the
    import does on a fresh collection)."""
    from flipdeck.store.collection import Collection

    src = sqlite3.connect(source)
    tables = ("notes", "cards", "changes")
    rows = {t: src.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
    src.close()
    target = work / "floor.db"
    Collection.open(target).close()
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA cache_size = -262144")
    for t in tables:
        conn.execute(f"DELETE FROM {t}")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
        " AND tbl_name IN ('notes', 'cards') AND sql IS NOT NULL"
    ).fetchall()
    os.sync()
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    for name, _sql in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    for t in tables:
        if rows[t]:
            marks = ",".join("?" * len(rows[t][0]))
            conn.executemany(f"INSERT INTO {t} VALUES ({marks})", rows[t])
    for _name, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-peers", action="store_true", help="use the recorded peer figures")
    a = ap.parse_args()
    path = PEER_DIR / "data" / f"deck_{a.n}.apkg"
    if not path.exists():
        sys.exit(f"{path} is missing: run {PEERS / 'gen_data.py'} --n {a.n} first")
    tmp = Path(tempfile.mkdtemp(prefix="flipdeck-bench-"))
    try:
        runs = [run_once(path, tmp) for _ in range(a.runs)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    import_s = statistics.median(r["import_s"] for r in runs)
    store_floor_s = statistics.median(r["store_floor_s"] for r in runs)
    ref = dict(ANCHORS.get(a.n, {}))
    source = "performance-anchors.md"
    if not a.no_peers:
        runs_arg = ("--runs", str(max(a.runs, 1)))
        anki = peer("anki_import.py", a.n, "--what", "apkg", *runs_arg)
        floor = peer("sqlite_limit.py", a.n, "--variants", "executemany_wal_full", *runs_arg)
        if anki and floor:
            ref["anki_import_s"] = anki["results"]["apkg"]["median"]["apkg_import_s"]
            ref["floor_s"] = floor["results"]["executemany_wal_full"]["median"]["insert_s"]
            source = "measured in this run"
    result = {
        "n": a.n,
        "runs": runs,
        "import_s": round(import_s, 4),
        "import_notes_per_s": round(a.n / import_s),
        "store_floor_s": round(store_floor_s, 4),
        "reference": ref,
        "reference_source": source,
    }
    if ref:
        result["anki_import_s"] = round(ref["anki_import_s"], 4)
        result["anki_notes_per_s"] = round(a.n / ref["anki_import_s"])
        result["floor_s"] = round(ref["floor_s"], 4)
        result["import_vs_anki"] = round(import_s / ref["anki_import_s"], 3)
        result["import_vs_floor"] = round(import_s / ref["floor_s"], 2)
        result["store_floor_vs_anki"] = round(store_floor_s / ref["anki_import_s"], 3)
    if a.json:
        print(json.dumps(result))
        return
    print(f"flipdeck .apkg import, {a.n:,} notes ({len(runs)} run(s), median)")
    print(f"  flipdeck     {import_s:8.3f} s  {a.n / import_s:10,.0f} notes/s")
    if ref:
        print(
            f"  Anki 26.9.3  {ref['anki_import_s']:8.3f} s  "
            f"{a.n / ref['anki_import_s']:10,.0f} notes/s   ({source})"
        )
        print(f"  SQLite floor {ref['floor_s']:8.3f} s  (raw executemany of the same rows)")
        print(f"  store floor  {store_floor_s:8.3f} s  (raw executemany of flipdeck's rows)")
        print(
            f"  ratio: {result['import_vs_anki']:.2f}x Anki, {result['import_vs_floor']:.1f}x the"
            f" SQLite floor; flipdeck's rows alone cost {result['store_floor_vs_anki']:.2f}x Anki"
        )


if __name__ == "__main__":
    main()

"""bench/tui_bench.py stays runnable: on a tiny collection it prints every figure it
promises (the times themselves are never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_tui_bench_prints_its_figures(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "tui_bench.py"),
            *("--n", "200", "--answers", "3", "--runs", "1", "--json"),
            *("--collection", str(tmp_path / "bench.db")),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    for key in (
        "launch_to_first_card_s",
        "keypress_to_next_card_ms_p99",
        "keypress_minus_store_ms_p99",
        "browse_page_ms_p99",
        "rss_mb",
    ):
        assert figures[key] > 0, key
    assert figures["answers_timed"] == 3
    assert figures["browse_cards"] == 200

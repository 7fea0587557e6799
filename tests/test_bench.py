"""The benchmarks stay runnable: each runs on a tiny input and prints the figures it promises
(the times themselves are never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_collection_bench_prints_its_figures(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "collection_bench.py"),
            "--n",
            "300",
            "--answers",
            "20",
            "--runs",
            "1",
            "--json",
            "--out",
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["build"]["cards"] == 300
    assert result["build"]["reviews"] > 300  # 70 % of cards with 2–12 answers each
    assert result["rebuild"]["cards"] == 300
    assert result["answered"] == 20
    for key in ("rebuild_s",):
        assert result["rebuild"][key] > 0
    assert result["due_cold_ms"]["json"]["runs"] == 1
    assert set(result["next_card_ms"]) == {"p50", "p99"}
    assert set(result["answer_ms"]) == {"median", "p99"}

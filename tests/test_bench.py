"""The benchmarks stay runnable: each runs on a tiny input and prints the figures it promises
(the times themselves are never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_bench(script: str, *args: str, home: Path | None = None) -> tuple[dict, str]:
    """Run ``bench/<script>`` with ``--json`` in a clean environment (no ``FLIPDECK_*``
    variables; ``HOME`` moved to ``home`` when given); its JSON result and its stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIPDECK_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    if home is not None:
        env["HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_collection_bench_prints_its_figures(tmp_path):
    result, _ = run_bench(
        "collection_bench.py",
        "--n",
        "300",
        "--answers",
        "20",
        "--runs",
        "1",
        "--out",
        str(tmp_path),
    )
    assert result["build"]["cards"] == 300
    assert result["build"]["reviews"] > 300  # 70 % of cards with 2–12 answers each
    assert result["rebuild"]["cards"] == 300
    assert result["answered"] == 20
    for key in ("rebuild_s",):
        assert result["rebuild"][key] > 0
    assert result["due_cold_ms"]["json"]["runs"] == 1
    assert set(result["next_card_ms"]) == {"p50", "p99"}
    assert set(result["answer_ms"]) == {"median", "p99"}


def test_sync_bench_prints_its_figures_and_profiles_a_step(tmp_path):
    """A tiny run of the whole scenario against a real ``flipdeck-server``: every step is
    reported, the two devices converge, and ``--profile`` prints that step's profile."""
    result, stderr = run_bench(
        "sync_bench.py",
        *("--notes", "40", "--reviews", "10", "--runs", "1", "--profile", "first_sync_b"),
        home=tmp_path,
    )
    assert result["converged"] is True and result["notes"] == 40 and result["reviews"] == 10
    steps = result["steps"]
    assert set(steps) == {
        "first_sync_a",
        "first_sync_b",
        "push_reviews_a",
        "pull_reviews_b",
        "idle_a",
        "idle_b",
    }
    # A sends its 40 notes and their cards; B receives them (and sends only its own defaults)
    assert steps["first_sync_a"]["pushed"] > 80 and steps["first_sync_b"]["pulled"] > 80
    assert steps["push_reviews_a"]["pushed"] >= 10 and steps["pull_reviews_b"]["pulled"] >= 10
    assert steps["idle_a"]["requests"] == steps["idle_b"]["requests"] == 1
    assert steps["idle_a"]["bytes"] < 1024
    assert "engine.py" in stderr and "cumulative" in stderr  # the profile


def test_request_cost_bench_prints_both_endpoints():
    result, _ = run_bench("request_cost.py", "--requests", "20")
    assert result["database"] == "sqlite"
    for name in ("GET /v1/me", "bare Falcon constant"):
        assert result[name]["wall_us"] > 0 and result[name]["cpu_us"] > 0

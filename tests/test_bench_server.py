"""``bench/server_bench.py`` stays runnable: a one-second run on SQLite (and on PostgreSQL when
``FLIPDECK_TEST_DATABASE_URL`` is set) prints every figure it promises. Speeds are never
asserted; that every measured request succeeded is.

The run is skipped when ``wrk`` (the benchmark's load generator) is not on PATH: CI machines
may lack it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("FLIPDECK_TEST_DATABASE_URL")


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (the load generator) is not on PATH")
def test_server_bench_prints_its_figures(tmp_path):
    databases = "sqlite,postgresql" if PG_URL else "sqlite"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLIPDECK_")},
        "PYTHONPATH": str(ROOT / "src"),
        "HOME": str(tmp_path),
        **({"FLIPDECK_BENCH_POSTGRES_URL": PG_URL} if PG_URL else {}),
    }
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "server_bench.py"),
            "--duration",
            "1",
            "--login-duration",
            "4",  # a login is ~0.4 s of scrypt; with CI's other jobs, 1 s could see none finish
            "--connections",
            "4",
            "--databases",
            databases,
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    assert {"versions", "settings", "bare", "anchors"} <= set(result)
    assert "bench_wsgi" in result["settings"]["limits"]  # the raised limits are stated
    assert result["bare"]["requests"] > 0 and result["bare"]["non_2xx"] == 0
    assert set(result["bare"]["latency_ms"]) >= {"p50", "p99"}
    for kind in databases.split(","):
        entry = result[kind]
        assert "skipped" not in entry, entry
        assert entry["me"]["requests"] > 0 and entry["me"]["non_2xx"] == 0
        assert entry["ratio_to_bare"] > 0 and entry["goal"] == 0.5
        assert isinstance(entry["meets_goal"], bool)
        paced = entry["half_rate"]
        assert {"target_rps", "achieved_rps", "latency_ms", "method"} <= set(paced)
        assert paced["non_2xx"] == 0 and "p99" in paced["latency_ms"]
        logins = entry["logins"]
        assert logins["requests"] > 0 and logins["non_2xx"] == 0
        assert "N=2^17" in logins["password_profile"]
    assert result["anchors"]["scrypt_n17_seconds_per_hash"] == 0.32


def test_server_bench_explains_a_missing_wrk(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no wrk there
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "server_bench.py"), "--json"],
        env={**env, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "wrk is not on PATH" in done.stderr

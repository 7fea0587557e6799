#!/usr/bin/env python3
"""Issue 3's server figures, measured over HTTP with a real load generator (wrk).

    python bench/server_bench.py [--duration 10] [--rounds 3] [--login-duration 10]
                                 [--connections 16] [--databases sqlite,postgresql]
                                 [--postgres-url URL] [--json]

Setup (not measured): gunicorn with 2 sync workers on a free loopback port (``--workers 2
--worker-class sync --timeout 30 --graceful-timeout 10``, no access log, as `flipdeck-server
serve`), serving

* ``bench/bare_app.py``: a bare Falcon endpoint returning a constant JSON object (the baseline);
* ``bench/bench_wsgi.py``: the flipdeck app from ``Config.from_env()`` with the request budgets
  raised out of reach (the configuration itself only accepts stricter limits; the limiter still
  counts each request in the database), on a fresh, migrated SQLite file and on a throwaway
  PostgreSQL database (created and dropped here), with one registered user.

Figures:

* ``rps``: ``wrk -t2 -c16 -d10s`` on ``GET /v1/me`` with ``Authorization: Bearer`` (JWT decode,
  the user and device loaded from the database, the per-user budget spent, JSON out), and
  on the bare endpoint, in ``--rounds`` alternating pairs (both servers stay up, only one is
  loaded at a time); ``ratio_to_bare`` = the median of the pairs' flipdeck / bare ratios (goal
  ≥ 0.5), per database, with the median run's rate and latencies.
* ``half_rate``: latency at half the peak rate. Debian's wrk is wrk 4 (no ``-R`` constant-rate
  mode), so each connection waits a Lua ``delay()`` between requests, calibrated in a first run
  so the achieved rate is about half the peak; p50/p99 are wrk's per-request latencies (closed
  loop: at 50 % load queueing is small, but this is not a coordinated-omission-corrected
  open-loop figure).
* ``logins``: ``POST /v1/auth/login`` with the right password, 4 connections, for
  ``--login-duration`` seconds, with the default password profile (scrypt N=2^17, r=8, p=1).

Prints a readable table, or one JSON object with ``--json``, with the anchors of
``shared/reference/performance-anchors.md`` §6 for context. Needs ``wrk`` on PATH.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
SRC = ROOT / "src"

WORKERS = 2
THREADS = 2
PASSWORD = "correct horse battery staple"
GOAL = 0.5
STARTUP_TIMEOUT = 60.0

ANCHORS = {
    "source": "shared/reference/performance-anchors.md §6",
    "in_process_requests_per_second": {  # in-process WSGI: no network, one core
        "falcon-bench, Falcon 4.4.0": 274_226,
        "Falcon JSON resp.media": 176_000,
        "Falcon JSON + PyJWT HS256 decode middleware": 24_600,
        "Django JsonResponse, no middleware": 29_800,
        "Django REST framework APIView, no auth, no throttling": 10_900,
    },
    "scrypt_n17_seconds_per_hash": 0.32,
    "scrypt_n17_logins_per_second_max_on_2_cores": 6,
    "end_to_end": [
        {
            "setup": "database-backed Falcon, 16 gunicorn+meinheld workers, nginx, PgBouncer "
            "(Cal Paterson, 'Async Python is not faster', 2020)",
            "requests_per_second": 5589,
            "p50_ms": 17,
            "p99_ms": 31,
        },
        {
            "setup": "Falcon 3.0.1 JSON API, 2 vCPU, gunicorn+uvicorn "
            "(klen/py-frameworks-bench, 2022-03-14)",
            "requests_per_second": 10_133,
        },
    ],
}

LIMITS_NOTE = (
    "request budgets raised out of reach by bench/bench_wsgi.py (the server's configuration only "
    "accepts stricter limits); the limiter still counts every request against the shared counter "
    "in the database, claimed in blocks of up to 32 as in production"
)


# -- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_argv(target: str, port: int) -> list[str]:
    """The same gunicorn settings as `flipdeck-server serve --workers 2`."""
    import gunicorn.config

    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--timeout",
        "30",
        "--graceful-timeout",
        "10",
        "--error-logfile",
        "-",
    ]
    if any(s.name == "control_socket_disable" for s in gunicorn.config.KNOWN_SETTINGS):
        argv.append("--no-control-socket")
    return [*argv, target]


def http_request(port: int, method: str, path: str, body=None, token=None, timeout=30.0):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        return response.status, (json.loads(payload) if payload else None)
    finally:
        connection.close()


class Server:
    """A gunicorn process group, stopped on exit whatever happens."""

    def __init__(self, target: str, env: dict[str, str], log: Path, health: str) -> None:
        self.port = free_port()
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                gunicorn_argv(target, self.port),
                env=env,
                cwd=str(BENCH),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{target} exited:\n{log.read_text()[-4000:]}")
            with contextlib.suppress(OSError):
                if http_request(self.port, "GET", health, timeout=2)[0] == 200:
                    break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{target} did not answer:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)
        self._wait_for_workers(deadline)

    def _wait_for_workers(self, deadline: float) -> None:
        """Both workers booted (each builds its app, which hashes a dummy password)."""
        while time.monotonic() < deadline:
            if self.log.read_text().count("Booting worker") >= WORKERS:
                break
            time.sleep(0.1)
        time.sleep(1.0)  # let the last worker finish loading its app

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(15)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


# -- wrk ------------------------------------------------------------------------------------------

_LUA = """
{setup}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "mean_us": %.1f, "p50_us": %d, "p75_us": %d, '
    .. '"p90_us": %d, "p99_us": %d, "max_us": %d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, math.floor(latency:percentile(50)), math.floor(latency:percentile(75)),
    math.floor(latency:percentile(90)), math.floor(latency:percentile(99)),
    math.floor(latency.max)))
end
"""


def wrk(
    url: str,
    *,
    duration: float,
    connections: int,
    workdir: Path,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: str | None = None,
    delay_ms: int | None = None,
    timeout_s: int = 10,
) -> dict:
    """One wrk run; its summary as a dict (rates per second, latencies in ms)."""
    setup = [f'wrk.method = "{method}"']
    for name, value in (headers or {}).items():
        setup.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    if body is not None:
        setup.append(f"wrk.body = {json.dumps(body)}")
    if delay_ms is not None:
        setup.append(f"function delay() return {int(delay_ms)} end")
    script = workdir / f"wrk-{uuid.uuid4().hex[:8]}.lua"
    script.write_text(_LUA.format(setup="\n".join(setup)))
    done = subprocess.run(
        [
            "wrk",
            f"-t{min(THREADS, connections)}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            f"--timeout={timeout_s}s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line[len("BENCH_JSON ") :])
    seconds = raw["duration_us"] / 1e6
    errors = {k: raw[k] for k in ("connect", "read", "write", "timeout")}
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "non_2xx": raw["status"],
        "socket_errors": errors,
        "latency_ms": {
            "mean": round(raw["mean_us"] / 1000, 3),
            "p50": round(raw["p50_us"] / 1000, 3),
            "p75": round(raw["p75_us"] / 1000, 3),
            "p90": round(raw["p90_us"] / 1000, 3),
            "p99": round(raw["p99_us"] / 1000, 3),
            "max": round(raw["max_us"] / 1000, 3),
        },
    }


def half_rate(url: str, peak_rps: float, *, duration: float, connections: int, **kwargs) -> dict:
    """Latency with the offered rate held near peak / 2 (see the module docstring)."""
    target = peak_rps / 2
    interval_ms = connections * 1000 / target  # each connection's time between requests
    service_ms = 1000 * WORKERS / peak_rps
    delay = max(0, round(interval_ms - service_ms))
    calibration = wrk(
        url, duration=max(2, duration / 2), connections=connections, delay_ms=delay, **kwargs
    )
    # achieved = connections / (delay + latency): solve for the delay that gives the target
    latency_ms = connections * 1000 / max(calibration["rps"], 1e-9) - delay
    delay = max(0, round(interval_ms - latency_ms))
    run = wrk(url, duration=duration, connections=connections, delay_ms=delay, **kwargs)
    return {
        "target_rps": round(target, 1),
        "achieved_rps": run["rps"],
        "delay_ms": delay,
        "latency_ms": run["latency_ms"],
        "non_2xx": run["non_2xx"],
        "method": "wrk 4 with a Lua delay() per connection, calibrated to about half the peak "
        "(closed loop; latencies per request as wrk measures them)",
    }


# -- databases and the app -------------------------------------------------------------------------


def base_env(home: Path, database_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLIPDECK_", "GUNICORN_")) and k != "XDG_RUNTIME_DIR"
    }
    env.update(
        PYTHONPATH=os.pathsep.join([str(SRC), str(BENCH)]),
        PYTHONUNBUFFERED="1",
        HOME=str(home),
        FLIPDECK_HOME=str(home),
        FLIPDECK_DATABASE_URL=database_url,
        FLIPDECK_SECRET_KEY=os.urandom(32).hex(),
        FLIPDECK_PASSWORD_PROFILE="default",
        FLIPDECK_LOG_LEVEL="INFO",
    )
    if os.environ.get("FLIPDECK_REDIS_URL"):  # rate-limit counters in Redis instead
        env["FLIPDECK_REDIS_URL"] = os.environ["FLIPDECK_REDIS_URL"]
    return env


@contextlib.contextmanager
def postgres_database(admin_url: str):
    import psycopg

    name = f"flipdeck_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_problem(admin_url: str) -> str | None:
    """Why PostgreSQL cannot be used (None when it can)."""
    try:
        import psycopg

        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as error:  # any reason at all: report it and carry on with SQLite
        return f"{type(error).__name__}: {error}".strip()
    return None


def alternate(bare_url: str, me_url: str, me_headers: dict, args, work: Path) -> dict:
    """``--rounds`` pairs of runs, the bare endpoint then ``/v1/me``, back to back.

    The ratio is the median of each pair's ratio: on a shared 2-core VM the machine's speed
    drifts by 10-20 % over a minute, and a bare run measured once at the start let that drift
    pass for a change in the ratio.
    """
    common = {"connections": args.connections, "workdir": work}
    wrk(bare_url, duration=min(2, args.duration), **common)  # warm-up (connections, caches)
    wrk(me_url, duration=min(2, args.duration), headers=me_headers, **common)
    bare_runs, me_runs = [], []
    for _ in range(args.rounds):
        bare_runs.append(wrk(bare_url, duration=args.duration, **common))
        me_runs.append(wrk(me_url, duration=args.duration, headers=me_headers, **common))
    ratios = [
        m["rps"] / b["rps"] if b["rps"] else 0.0 for b, m in zip(bare_runs, me_runs, strict=True)
    ]
    return {
        "bare": _median_run(bare_runs),
        "me": _median_run(me_runs),
        "ratios": [round(r, 3) for r in ratios],
        "ratio": statistics.median(ratios),
    }


def _median_run(runs: list[dict]) -> dict:
    """The run with the median rate, with every run's rate beside it."""
    ranked = sorted(runs, key=lambda r: r["rps"])
    middle = dict(ranked[(len(ranked) - 1) // 2])
    middle["rps_each_round"] = [r["rps"] for r in runs]
    middle["requests"] = sum(r["requests"] for r in runs)
    middle["non_2xx"] = sum(r["non_2xx"] for r in runs)
    return middle


def measure_flipdeck(kind: str, database_url: str, work: Path, args, bare_url: str) -> dict:
    home = work / f"home-{kind}"
    home.mkdir()
    env = base_env(home, database_url)
    migrate = subprocess.run(
        [sys.executable, "-m", "flipdeck.server", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if migrate.returncode != 0:
        raise RuntimeError(f"migrate failed: {migrate.stderr}")
    with Server("bench_wsgi:app", env, work / f"server-{kind}.log", "/health") as server:
        status, pair = http_request(
            server.port,
            "POST",
            "/v1/auth/register",
            {"username": "bench", "email": "bench@example.com", "password": PASSWORD},
        )
        if status != 201:
            raise RuntimeError(f"register failed: {status} {pair}")
        url = f"http://127.0.0.1:{server.port}/v1/me"
        auth = {"Authorization": f"Bearer {pair['access']}"}
        common = {"connections": args.connections, "workdir": work, "headers": auth}
        rounds = alternate(bare_url, url, auth, args, work)
        me = rounds["me"]
        paced = half_rate(url, me["rps"], duration=args.duration, **common)
        login_body = json.dumps({"username": "bench", "password": PASSWORD})
        logins = wrk(
            f"http://127.0.0.1:{server.port}/v1/auth/login",
            duration=args.login_duration,
            connections=4,
            workdir=work,
            method="POST",
            body=login_body,
            headers={"Content-Type": "application/json"},
            timeout_s=20,
        )
    return {
        "database": kind,
        "me": me,
        "bare_beside": rounds["bare"],
        "ratios_each_round": rounds["ratios"],
        "ratio_to_bare": round(rounds["ratio"], 3),
        "goal": GOAL,
        "meets_goal": rounds["ratio"] >= GOAL,
        "half_rate": paced,
        "logins": {
            "per_second": logins["rps"],
            "requests": logins["requests"],
            "non_2xx": logins["non_2xx"],
            "latency_ms": logins["latency_ms"],
            "connections": 4,
            "password_profile": "default: scrypt N=2^17, r=8, p=1 (0.32 s a hash, 128 MiB)",
            "hash_slots_per_worker": os.cpu_count() or 1,
        },
    }


@contextlib.contextmanager
def bare_server(work: Path):
    """The baseline app under the same gunicorn settings, kept up for the whole run."""
    env = base_env(work / "home-bare", "sqlite:///unused")
    (work / "home-bare").mkdir()
    with Server("bare_app:app", env, work / "bare.log", "/") as server:
        yield f"http://127.0.0.1:{server.port}/"


# -- report ----------------------------------------------------------------------------------------


def versions() -> dict:
    import falcon
    import gunicorn
    import jwt
    import peewee

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (wrk_version.stdout or wrk_version.stderr).splitlines()
    return {
        "python": platform.python_version(),
        "falcon": falcon.__version__,
        "gunicorn": gunicorn.__version__,
        "peewee": peewee.__version__,
        "pyjwt": jwt.__version__,
        "wrk": first[0].split(" Copyright")[0] if first else "?",
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def run(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="flipdeck-server-bench-"))
    try:
        result = {
            "versions": versions(),
            "settings": {
                "gunicorn": f"{WORKERS} sync workers, timeout 30 s, no access log",
                "wrk": f"-t{THREADS} -c{args.connections} -d{args.duration}s",
                "rounds": f"{args.rounds} alternating pairs (bare, then /v1/me) per database; "
                "ratio = median of the pairs' ratios",
                "login_wrk": f"-t2 -c4 -d{args.login_duration}s",
                "limits": LIMITS_NOTE,
                "log_level": "INFO (one JSON line per request, to a file)",
                "same_host": "wrk and the server share the machine's cores",
            },
        }
        with bare_server(work) as bare_url:
            for kind in args.databases:
                if kind == "sqlite":
                    url = f"sqlite:///{work / 'bench.db'}"
                    result["sqlite"] = measure_flipdeck("sqlite", url, work, args, bare_url)
                elif kind == "postgresql":
                    problem = postgres_problem(args.postgres_url)
                    if problem:
                        result["postgresql"] = {"skipped": problem}
                        continue
                    with postgres_database(args.postgres_url) as url:
                        result["postgresql"] = measure_flipdeck(
                            "postgresql", url, work, args, bare_url
                        )
        measured = [result[k]["bare_beside"] for k in args.databases if "me" in result[k]]
        if measured:
            result["bare"] = _median_run(measured)
        result["anchors"] = ANCHORS
        return result
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def table(result: dict) -> str:
    v = result["versions"]
    lines = [
        f"flipdeck-server over HTTP: gunicorn {v['gunicorn']} ({result['settings']['gunicorn']}), "
        f"falcon {v['falcon']}, Python {v['python']}, {v['cpus']} CPUs; load: {v['wrk']} "
        f"{result['settings']['wrk']} on the same host "
        f"(load average at start {v['load_average_at_start'][0]})",
        f"note: {result['settings']['limits']}",
        "",
        f"{'':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7}",
    ]
    for kind in ("sqlite", "postgresql"):
        entry = result.get(kind)
        if entry is None:
            continue
        if "skipped" in entry:
            lines.append(f"{'GET /v1/me, ' + kind:34} skipped: {entry['skipped']}")
            continue
        me, paced, logins = entry["me"], entry["half_rate"], entry["logins"]
        bare = entry["bare_beside"]
        verdict = "meets" if entry["meets_goal"] else "misses"
        each = " ".join(f"{r:.2f}" for r in entry["ratios_each_round"])
        lines.append(
            f"{'bare Falcon constant, beside it':34} {bare['rps']:>9.0f} "
            f"{bare['latency_ms']['p50']:>8.2f} {bare['latency_ms']['p99']:>8.2f} {'1.00':>7}"
        )
        lines.append(
            f"{'GET /v1/me, ' + kind:34} {me['rps']:>9.0f} {me['latency_ms']['p50']:>8.2f} "
            f"{me['latency_ms']['p99']:>8.2f} {entry['ratio_to_bare']:>7.2f}  "
            f"({verdict} the {GOAL} goal; rounds: {each})"
        )
        lines.append(
            f"{'  at half the peak (' + format(paced['achieved_rps'], '.0f') + ' req/s)':34} "
            f"{'':>9} {paced['latency_ms']['p50']:>8.2f} {paced['latency_ms']['p99']:>8.2f}"
        )
        lines.append(
            f"{'POST /v1/auth/login, ' + kind:34} {logins['per_second']:>9.1f} "
            f"{logins['latency_ms']['p50']:>8.1f} {logins['latency_ms']['p99']:>8.1f}  "
            f"(scrypt N=2^17, 4 clients)"
        )
        errors = me["non_2xx"] + paced["non_2xx"] + logins["non_2xx"]
        if errors:
            lines.append(f"  WARNING: {errors} non-2xx responses on {kind}")
    a = result["anchors"]
    lines += [
        "",
        f"anchors ({a['source']}):",
        *(
            f"  in-process, one core, {name}: {rps:,} req/s"
            for name, rps in a["in_process_requests_per_second"].items()
        ),
        f"  scrypt N=2^17: {a['scrypt_n17_seconds_per_hash']} s a hash, so at most "
        f"~{a['scrypt_n17_logins_per_second_max_on_2_cores']} logins/s on 2 cores",
        *(
            f"  {e['setup']}: {e['requests_per_second']:,} req/s"
            + (f", p50 {e['p50_ms']} ms, p99 {e['p99_ms']} ms" if "p99_ms" in e else "")
            for e in a["end_to_end"]
        ),
        "",
        "p99 at half the peak: "
        + next(
            (
                result[k]["half_rate"]["method"]
                for k in ("sqlite", "postgresql")
                if "half_rate" in result.get(k, {})
            ),
            "n/a",
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--login-duration", type=float, default=10.0)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating bare / flipdeck run pairs (median)"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
        help="comma-separated: sqlite, postgresql",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FLIPDECK_BENCH_POSTGRES_URL")
        or os.environ.get("FLIPDECK_TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres",
        help="a server where a throwaway database may be created (and is dropped)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    unknown = set(args.databases) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown database: {', '.join(sorted(unknown))}")
    if shutil.which("wrk") is None:
        print("error: wrk is not on PATH (Debian/Ubuntu: apt-get install wrk)", file=sys.stderr)
        return 2
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

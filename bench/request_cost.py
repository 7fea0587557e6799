#!/usr/bin/env python3
"""What one authenticated ``GET /v1/me`` costs inside the server process, beside a bare Falcon
endpoint: the in-process side of issue 3's figure (``server_bench.py`` measures it over HTTP).

    python bench/request_cost.py [--requests 2000] [--database-url URL] [--instructions] [--json]

The flipdeck app is ``create_app`` on a fresh, migrated SQLite file (or on ``--database-url``, a
PostgreSQL database that is used as it is: give it a throwaway one), with the request budgets
raised out of reach as in ``bench_wsgi.py``, logs at INFO to ``/dev/null``, one registered user;
requests go straight to the WSGI callable, no network. Printed per request: wall and CPU time
(the fastest of 7 batches), and with ``--instructions`` the instructions counted by
``valgrind --tool=callgrind`` (a run of ``--requests`` requests minus a run of none, so start-up
is left out). Instruction counts repeat exactly on a busy or drifting VM, where times vary by
10-30 %, which is what makes them useful for comparing two versions of the request path.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

PASSWORD = "correct horse battery staple"
SECRET = b"bench-secret-key-for-flipdeck-0123456789"


def calls(database_url: str | None):
    """``(flipdeck, bare)``: two functions, each serving one request and returning its status."""
    import falcon.testing

    import bare_app
    from flipdeck.server import migrations
    from flipdeck.server.app import create_app
    from flipdeck.server.config import Config, Limits, PasswordPolicy
    from flipdeck.server.db import open_database

    url = database_url or f"sqlite:///{tempfile.mkdtemp(prefix='flipdeck-cost-')}/server.db"
    base = Config(database_url=url, secret_key=SECRET)
    db = open_database(base)
    with db.connection_context():
        migrations.run(db)
    high = 10**12
    config = dataclasses.replace(
        base,
        password=PasswordPolicy(cost=10, block_size=8, parallelism=1),  # registration only
        limits=Limits(
            anonymous_per_hour=high,
            user_per_hour=high,
            auth_per_minute=high,
            failed_logins_per_ip_hour=high,
        ),
        log_level="INFO",
    )
    app = create_app(config)
    from flipdeck.server import logs

    logs.configure("INFO", stream=open(os.devnull, "w"))  # noqa: SIM115 (lives as long as we do)
    name = f"cost{os.getpid()}{time.time_ns() % 10**6}"
    registered = falcon.testing.TestClient(app).simulate_post(
        "/v1/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
    )
    if registered.status_code != 201:
        raise SystemExit(f"register failed: {registered.status_code} {registered.text}")
    me = falcon.testing.create_environ(
        "/v1/me", headers={"Authorization": "Bearer " + registered.json["access"]}
    )
    bare = falcon.testing.create_environ("/")

    def serve(wsgi, environ):
        def one() -> str:
            seen = []
            b"".join(wsgi(dict(environ), lambda status, headers: seen.append(status)))
            return seen[0]

        return one

    return serve(app, me), serve(bare_app.app, bare)


def timed(call, requests: int) -> dict:
    """Wall and CPU microseconds per request, the fastest of 7 batches."""
    for _ in range(200):
        status = call()
    if not status.startswith("200"):
        raise SystemExit(f"the request failed: {status}")
    walls, cpus = [], []
    for _ in range(7):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(requests):
            call()
        walls.append((time.perf_counter() - wall) / requests * 1e6)
        cpus.append((time.process_time() - cpu) / requests * 1e6)
    return {"wall_us": round(min(walls), 1), "cpu_us": round(min(cpus), 1)}


def instructions(args) -> dict:
    """Instructions per request of each endpoint, by callgrind (runs this script under it)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("error: --instructions needs valgrind on PATH (apt-get install valgrind)")

    def count(which: str, requests: int) -> int:
        argv = [sys.executable, __file__, "--count", which, "--requests", str(requests)]
        if args.database_url:
            argv += ["--database-url", args.database_url]
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
        if done.returncode != 0 or not found:
            raise SystemExit(f"callgrind failed:\n{done.stderr[-2000:]}")
        return int(found.group(1))

    return {
        which: (count(which, args.requests) - count(which, 0)) // args.requests
        for which in ("flipdeck", "bare")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per batch or count")
    parser.add_argument("--database-url", help="a throwaway PostgreSQL database (default SQLite)")
    parser.add_argument("--instructions", action="store_true", help="also count instructions")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--count", choices=("flipdeck", "bare"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    flipdeck, bare = calls(args.database_url)
    if args.count:  # under callgrind: warm up, then exactly --requests requests
        call = flipdeck if args.count == "flipdeck" else bare
        for _ in range(200):
            call()
        for _ in range(args.requests):
            call()
        return
    result = {
        "database": "postgresql" if args.database_url else "sqlite",
        "GET /v1/me": timed(flipdeck, args.requests),
        "bare Falcon constant": timed(bare, args.requests),
    }
    if args.instructions:
        counted = instructions(args)
        result["GET /v1/me"]["instructions"] = counted["flipdeck"]
        result["bare Falcon constant"]["instructions"] = counted["bare"]
    if args.json:
        print(json.dumps(result))
        return
    print(f"in-process, per request ({result['database']}; fastest of 7 batches):")
    for name in ("GET /v1/me", "bare Falcon constant"):
        row = result[name]
        extra = f"  {row['instructions']:>9,} instructions" if "instructions" in row else ""
        print(f"  {name:22} wall {row['wall_us']:7.1f} µs  cpu {row['cpu_us']:7.1f} µs{extra}")


if __name__ == "__main__":
    main()

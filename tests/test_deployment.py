"""The deployment files, read without a Docker engine: ``docker-compose.yml`` (the server under
gunicorn plus PostgreSQL, a named volume, health checks, start order) and the ``Dockerfile``
(slim Python, unprivileged user, ``flipdeck-server serve --workers 2``, a health check).

Their structure is asserted here; ``tests/server/test_live.py`` runs the same configuration
natively (gunicorn with two workers against PostgreSQL) and signs in through it. The environment
variables the compose file sets are checked against what ``Config.from_env`` actually reads.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlparse

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
SERVE = ["flipdeck-server", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            logical.append(current.strip())
            current = ""
    pairs = []
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def _command(value) -> list[str]:
    """A compose/Dockerfile command in exec (JSON list) or shell form, as argv."""
    if isinstance(value, list):
        return [str(v) for v in value]
    value = value.strip()
    if value.startswith("["):
        return json.loads(value)
    return shlex.split(value)


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}``."""

    def replace(match: re.Match) -> str:
        name, op, word = match.group(1), match.group(2), match.group(3) or ""
        if env.get(name):
            return env[name]
        if op == ":?":
            raise LookupError(f"{name}: {word}")
        return word

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}", replace, value)


def _healthcheck_argv(check: dict) -> list[str]:
    test = check["test"]
    assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL"), test
    return test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]


# -- docker-compose.yml --------------------------------------------------------------------------


def test_two_services_db_and_server(compose):
    assert set(compose["services"]) == {"db", "server"}
    assert compose["services"]["db"]["image"].split(":") == ["postgres", "15"]
    assert compose["services"]["server"]["build"] in (".", {"context": "."})


def test_postgres_keeps_its_data_in_a_named_volume(compose):
    db = compose["services"]["db"]
    volumes = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in db["volumes"]]
    mounts = dict(v.split(":")[:2][::-1] for v in volumes)  # target -> source
    source = mounts["/var/lib/postgresql/data"]
    assert "/" not in source, "a named volume, not a bind mount"
    assert source in compose["volumes"]


def test_postgres_authenticates_and_reports_health(compose):
    db = compose["services"]["db"]
    env = db["environment"]
    assert env.get("POSTGRES_HOST_AUTH_METHOD", "scram-sha-256") != "trust"
    assert "POSTGRES_PASSWORD" in env
    argv = _healthcheck_argv(db["healthcheck"])
    assert argv[0] == "pg_isready" or "pg_isready" in " ".join(argv)
    assert "ports" not in db, "the database is only reachable on the compose network"


def test_server_waits_for_a_healthy_database(compose):
    server = compose["services"]["server"]
    assert server["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert server["restart"] in ("always", "unless-stopped", "on-failure")
    assert "8000:8000" in [str(p) for p in server["ports"]]


def test_server_health_check_asks_ready_without_curl(compose):
    argv = _healthcheck_argv(compose["services"]["server"]["healthcheck"])
    assert argv[0] == "python" and "urllib" in " ".join(argv)
    assert "http://127.0.0.1:8000/ready" in " ".join(argv)


def test_server_runs_gunicorn_with_two_workers(compose, dockerfile):
    command = _command(compose["services"]["server"].get("command") or _cmd(dockerfile))
    assert command == SERVE


def test_server_environment_is_what_the_config_reads(compose, tmp_path):
    """Every variable the compose file sets is one ``Config.from_env`` reads, the required
    ones are there, and the database URL it builds points at the ``db`` service."""
    from flipdeck.server.config import Config
    from flipdeck.server.db import open_database

    server_env = compose["services"]["server"]["environment"]
    db_env = compose["services"]["db"]["environment"]
    assert {"FLIPDECK_DATABASE_URL", "FLIPDECK_SECRET_KEY"} <= set(server_env)

    shell = {"FLIPDECK_SECRET_KEY": "k" * 64}
    with pytest.raises(LookupError, match="FLIPDECK_SECRET_KEY"):
        _interpolate(server_env["FLIPDECK_SECRET_KEY"], {})  # compose refuses to start without
    resolved = {name: _interpolate(str(value), shell) for name, value in server_env.items()}
    db_resolved = {name: _interpolate(str(value), shell) for name, value in db_env.items()}

    read: set[str] = set()

    class Recording(dict):
        def get(self, key, default=None):
            read.add(key)
            return super().get(key, default)

    config = Config.from_env(Recording(resolved, FLIPDECK_HOME=str(tmp_path)))
    assert set(resolved) <= read, set(resolved) - read
    url = urlparse(config.database_url)
    assert url.scheme == "postgresql" and url.hostname == "db" and url.port == 5432
    assert url.path == "/" + db_resolved["POSTGRES_DB"]
    assert url.username == db_resolved["POSTGRES_USER"]
    assert url.password == db_resolved["POSTGRES_PASSWORD"]
    open_database(config)  # a URL the server accepts (nothing connects)


# -- Dockerfile ------------------------------------------------------------------------------------


def _cmd(dockerfile) -> str:
    commands = [args for instruction, args in dockerfile if instruction == "CMD"]
    assert len(commands) == 1
    return commands[0]


def test_dockerfile_builds_on_slim_python_as_a_normal_user(dockerfile):
    instructions = dict(reversed(dockerfile))  # the first of each
    assert instructions["FROM"] == "python:3.11-slim"
    users = [args for instruction, args in dockerfile if instruction == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    installs = [args for instruction, args in dockerfile if instruction == "RUN" and "pip" in args]
    assert any('".[server]"' in args or "'.[server]'" in args for args in installs), installs


def test_dockerfile_serves_with_two_workers(dockerfile):
    assert not [args for instruction, args in dockerfile if instruction == "ENTRYPOINT"]
    assert _command(_cmd(dockerfile)) == SERVE
    assert ("EXPOSE", "8000") in dockerfile


def test_dockerfile_health_check_uses_urllib_on_health(dockerfile):
    (check,) = [args for instruction, args in dockerfile if instruction == "HEALTHCHECK"]
    options, _, command = check.partition("CMD ")
    assert "--interval=" in options
    argv = _command(command)
    assert argv[0] == "python" and "urllib" in argv[-1]
    assert "http://127.0.0.1:8000/health" in argv[-1]

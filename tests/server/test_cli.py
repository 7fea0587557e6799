"""``flipdeck-server`` commands, each in a subprocess with a clean environment (``python -m
flipdeck.server``, the same entry point as the console script): help and version, ``migrate``
(idempotent), ``check`` (ok, unmigrated, unreachable), ``openapi``, ``create-user`` (role,
password policy) and ``purge``.

SQLite always; PostgreSQL as well for the database commands when ``FLIPDECK_TEST_DATABASE_URL``
is set (each case gets a throwaway database).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.server.conftest import PG_URL, STRONG_PASSWORD
from tests.server.live import cli, free_port, postgres_database, server_env, sql

ROOT = Path(__file__).resolve().parents[2]
LOW_MEMORY_HASH = "scrypt$ln=14,r=8,p=5$"


@pytest.fixture(params=["sqlite", "postgresql"])
def cli_database(request, tmp_path):
    """An empty database: a SQLite file, or a fresh PostgreSQL database (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.db'}"
        return
    if not PG_URL:
        pytest.skip("FLIPDECK_TEST_DATABASE_URL is not set (CI sets it)")
    with postgres_database(PG_URL, prefix="flipdeck_cli") as url:
        yield url


@pytest.fixture
def env(cli_database, tmp_path):
    # the low-memory profile keeps create-user quick; hashing itself is tested elsewhere
    return server_env(cli_database, tmp_path / "home", FLIPDECK_PASSWORD_PROFILE="low-memory")


def test_console_script_is_the_cli():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["flipdeck-server"] == "flipdeck.server.cli:main"


def test_help_lists_every_command(tmp_path):
    done = cli("--help", env=server_env("", tmp_path / "home"))
    assert done.returncode == 0, done.stderr
    for command in ("serve", "migrate", "create-user", "check", "openapi", "purge"):
        assert command in done.stdout
    serve = cli("serve", "--help", env=server_env("", tmp_path / "home"))
    assert serve.returncode == 0
    for option in ("--host", "--port", "--workers", "--dev", "--no-migrate"):
        assert option in serve.stdout


def test_version(tmp_path):
    from flipdeck import __version__

    done = cli("--version", env=server_env("", tmp_path / "home"))
    assert done.returncode == 0
    assert done.stdout.strip() == f"flipdeck-server {__version__}"


def test_migrate_twice_then_check(env):
    unmigrated = cli("check", env=env)
    assert unmigrated.returncode != 0
    assert "pending migrations" in unmigrated.stderr and "migrate" in unmigrated.stderr

    first = cli("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "applied: 0001_initial" in first.stderr
    second = cli("migrate", env=env)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stderr

    ok = cli("check", env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr.startswith("ok:")


@pytest.mark.parametrize(
    ("command", "url"),
    [
        ("check", "postgresql://postgres@127.0.0.1:{port}/flipdeck"),  # nobody listens there
        ("check", "sqlite:///{missing}/no-such-directory/server.db"),
        ("migrate", "postgresql://postgres@127.0.0.1:{port}/flipdeck"),
        ("purge", "postgresql://postgres@127.0.0.1:{port}/flipdeck"),
        ("serve", "postgresql://postgres@127.0.0.1:{port}/flipdeck"),  # it migrates first
    ],
)
def test_an_unreachable_database_is_a_one_line_error(tmp_path, command, url):
    url = url.format(port=free_port(), missing=tmp_path)
    args = (command, "--port", str(free_port())) if command == "serve" else (command,)
    done = cli(*args, env=server_env(url, tmp_path / "home"), timeout=60)
    assert done.returncode != 0
    assert "error: the database does not answer" in done.stderr
    assert "Traceback" not in done.stderr


def test_check_names_a_bad_setting(tmp_path):
    env = server_env("mysql://somewhere/db", tmp_path / "home")
    done = cli("check", env=env)
    assert done.returncode != 0
    assert "FLIPDECK_DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_openapi_prints_the_document(tmp_path):
    done = cli("openapi", env=server_env("", tmp_path / "home"))
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["openapi"] == "3.1.0"
    assert "/v1/auth/login" in document["paths"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_create_user_admin_then_login(env, cli_database):
    done = cli(
        "create-user",
        "alice",
        "--email",
        "alice@example.com",
        "--role",
        "admin",
        "--password-stdin",
        env=env,
        input=STRONG_PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["username"] == "alice" and created["role"] == "admin"
    assert STRONG_PASSWORD not in done.stdout + done.stderr

    ((role, password_hash),) = sql(
        cli_database, 'SELECT role, password_hash FROM "user" WHERE username = ?', ("alice",)
    )
    assert role == "admin"
    assert password_hash.startswith(LOW_MEMORY_HASH)  # FLIPDECK_PASSWORD_PROFILE applies
    # the sign-in create-user needed is not left behind as a device
    assert sql(cli_database, "SELECT COUNT(*) FROM family WHERE revoked_at IS NULL") == [(0,)]

    app = _app(cli_database)
    signed_in = app.simulate_post(
        "/v1/auth/login", json={"username": "alice", "password": STRONG_PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json["user"]["role"] == "admin"
    users = app.simulate_get(
        "/v1/users", headers={"Authorization": f"Bearer {signed_in.json['access']}"}
    )
    assert users.status_code == 200 and users.json["count"] == 1


def _app(database_url: str):
    import falcon.testing

    from flipdeck.server.app import create_app
    from flipdeck.server.config import Config
    from tests.server.conftest import FAST, LOOSE, SECRET

    return falcon.testing.TestClient(
        create_app(
            Config(
                database_url=database_url,
                secret_key=SECRET,
                password=FAST,
                limits=LOOSE,
                log_level="WARNING",
            )
        )
    )


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password1234", "password is too common"),
        ("short pw", "password must be at least 12 characters"),
        ("alice@example.com", "must not be your username or e-mail address"),
    ],
)
def test_create_user_refuses_a_weak_password(env, cli_database, password, message):
    done = cli(
        "create-user",
        "alice",
        "--email",
        "alice@example.com",
        "--password-stdin",
        env=env,
        input=password + "\n",
    )
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert sql(cli_database, 'SELECT COUNT(*) FROM "user"') == [(0,)]


def test_create_user_refuses_an_unknown_role(env):
    done = cli(
        "create-user",
        "alice",
        "--email",
        "alice@example.com",
        "--role",
        "root",
        "--password-stdin",
        env=env,
        input=STRONG_PASSWORD + "\n",
    )
    assert done.returncode != 0
    assert "--role must be one of student, instructor, admin" in done.stderr


def test_create_user_refuses_a_taken_name(env):
    args = ("create-user", "alice", "--email", "alice@example.com", "--password-stdin")
    assert cli(*args, env=env, input=STRONG_PASSWORD + "\n").returncode == 0
    again = cli(*args, env=env, input=STRONG_PASSWORD + "\n")
    assert again.returncode != 0
    assert "taken" in again.stderr


def test_purge_prints_counts_and_is_idempotent(env, cli_database):
    assert cli("migrate", env=env).returncode == 0
    # create-user leaves one revoked sign-in behind: the first purge removes it
    assert (
        cli(
            "create-user",
            "bob",
            "--email",
            "bob@example.com",
            "--password-stdin",
            env=env,
            input=STRONG_PASSWORD + "\n",
        ).returncode
        == 0
    )
    first = cli("purge", env=env)
    assert first.returncode == 0, first.stderr
    counts = json.loads(first.stdout)
    assert set(counts) == {
        "families",
        "refresh_tokens",
        "login_states",
        "rate_windows",
        "idempotency_keys",
    }
    assert counts["families"] == 1 and counts["refresh_tokens"] == 1
    second = cli("purge", env=env)
    assert second.returncode == 0
    assert json.loads(second.stdout) == dict.fromkeys(counts, 0)
    assert sql(cli_database, "SELECT COUNT(*) FROM family") == [(0,)]

"""Provides `flipdeck-server`: serve, migrate, create-user, check, openapi, purge.

Configuration comes from the environment (``FLIPDECK_*``; see docs/server.md); `serve --dev`
is the only mode that may generate its own secret key.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Annotated

import typer

from flipdeck import __version__

app = typer.Typer(
    name="flipdeck-server",
    help="The flipdeck server: accounts and device sign-ins over a JSON API.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,
)


def _config(dev: bool = False):
    """The configuration, with ``FLIPDECK_DATABASE_URL`` checked too (nothing connects); a bad
    setting is a one-line error naming the variable and exit code 78 (EX_CONFIG)."""
    from flipdeck.server.config import Config, ConfigError
    from flipdeck.server.db import open_database

    try:
        config = Config.from_env(dev=dev)
        open_database(config)
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(78) from None
    return config


@contextlib.contextmanager
def _database_answers():
    """A database that cannot be reached is a one-line error and exit code 1."""
    from flipdeck.server.db import UNAVAILABLE

    try:
        yield
    except UNAVAILABLE as error:
        typer.echo(f"error: the database does not answer: {error}", err=True)
        raise typer.Exit(1) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"flipdeck-server {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """The flipdeck server."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="gunicorn worker processes.")] = 2,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="One process, reload on code changes, "
            "a generated secret key kept in the data directory.",
        ),
    ] = False,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply pending migrations first.")
    ] = True,
) -> None:
    """Serve the API with gunicorn."""
    from gunicorn.app.base import BaseApplication

    config = _config(dev)
    if migrate_first:
        _migrate(config)
    if dev:
        # the generated key must reach the workers gunicorn starts
        os.environ["FLIPDECK_SECRET_KEY"] = config.secret_key.decode()

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1 if dev else workers)
            self.cfg.set("reload", dev)
            self.cfg.set("accesslog", None)
            self.cfg.set("errorlog", "-")
            self.cfg.set("timeout", 30)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("worker_class", "sync")
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn >= 25.1 otherwise opens a control socket at a fixed path in $HOME
                # (or $XDG_RUNTIME_DIR), shared by every instance on the host; nothing uses it
                self.cfg.set("control_socket_disable", True)

        def load(self):
            from flipdeck.server.app import create_app

            return create_app(_config(dev))

    Server().run()


def _migrate(config) -> list[str]:
    from flipdeck.server import migrations
    from flipdeck.server.db import open_database

    db = open_database(config)
    try:
        with _database_answers(), db.connection_context():
            return migrations.run(db)
    finally:
        # `serve` migrates in the gunicorn master: a pooled PostgreSQL connection left open
        # there would idle for the server's lifetime and be inherited by every forked worker
        if hasattr(db, "close_all"):
            db.close_all()


@app.command()
def migrate() -> None:
    """Apply pending database migrations (safe to run again)."""
    applied = _migrate(_config())
    typer.echo(f"applied: {', '.join(applied)}" if applied else "up to date", err=True)


@app.command("create-user")
def create_user(
    username: Annotated[str, typer.Argument(help="Login name.")],
    email: Annotated[str, typer.Option(help="E-mail address.")],
    role: Annotated[str, typer.Option(help="student, instructor or admin.")] = "student",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create an account (the password is read from stdin or prompted for, never an option)."""
    from flipdeck.server.errors import ApiError
    from flipdeck.server.models import ROLES

    if role not in ROLES:
        typer.echo(f"error: --role must be one of {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    config = _config()
    _migrate(config)
    from flipdeck.server.db import database
    from flipdeck.server.models import User
    from flipdeck.server.passwords import Hasher
    from flipdeck.server.services import accounts
    from flipdeck.server.tokens import TokenIssuer

    try:
        with _database_answers(), database.connection_context():
            pair = accounts.register(
                config,
                TokenIssuer(config),
                Hasher(config.password, 1, 30.0),
                username=username,
                email=email,
                password=password,
                device="create-user",
            )
            User.update(role=role).where(User.id == pair.user.id).execute()
            accounts.revoke_family(config, pair.family.id, "create-user")
    except ApiError as error:
        detail = (
            "; ".join(f"{e['pointer'].lstrip('/')} {e['detail']}".strip() for e in error.errors)
            if error.errors
            else error.detail
        )
        typer.echo(f"error: {detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"id": pair.user.id, "username": pair.user.username, "role": role}))


@app.command()
def check() -> None:
    """Check the configuration and that the database answers and is migrated."""
    config = _config()
    from flipdeck.server import migrations
    from flipdeck.server.db import open_database

    db = open_database(config)
    with _database_answers(), db.connection_context():
        db.execute_sql("SELECT 1").fetchone()
        pending = migrations.pending(db)
    if pending:
        typer.echo(
            f"error: pending migrations: {', '.join(pending)}; run `flipdeck-server migrate`",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo("ok: configuration valid, database reachable and migrated", err=True)


@app.command()
def openapi() -> None:
    """Print the OpenAPI 3.1 document."""
    from flipdeck.server.openapi import document

    typer.echo(json.dumps(document(), indent=2))


@app.command()
def purge() -> None:
    """Delete expired and revoked sign-ins and old counters (run it from cron; idempotent)."""
    config = _config()
    from flipdeck.server.db import database, open_database
    from flipdeck.server.ratelimit import counter
    from flipdeck.server.services import accounts

    open_database(config)
    with _database_answers(), database.connection_context():
        counts = accounts.purge(config, counter(config.redis_url))
    typer.echo(json.dumps(counts))


def main() -> None:
    """Run the server CLI."""
    app(prog_name="flipdeck-server")

"""Provides `flipdeck register|login|logout|whoami`: signing this device in to a server.

Passwords come from a hidden prompt, or from stdin with ``--password-stdin`` (for scripts);
never from an option. A missing username or e-mail address is asked for on a terminal and is
an error naming the option elsewhere. Tokens go to the OS keyring (or a user-only file where
there is none).

Signing in to another account or server than the one this collection last synced with starts
its sync over (everything is offered again, everything is pulled again): merging is
idempotent, so that costs bytes, never data.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.output import JsonOption
from flipdeck.core.errors import InvalidInput

ACCOUNT_KEY = "sync.account"
"""Collection metadata: which ``server user_id`` the sync cursor and pushed flags belong to."""

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server", help="Server URL (default: FLIPDECK_SERVER, or the one you last signed in to)."
    ),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin (one line).")
]


def _server(given: str | None) -> str:
    from flipdeck.sync import credentials

    server = given or os.environ.get("FLIPDECK_SERVER")
    if not server:
        account = credentials.load()
        server = account.server if account else None
    if not server:
        raise InvalidInput("which server?", hint="Pass --server URL (or set FLIPDECK_SERVER).")
    if not server.startswith(("http://", "https://")):
        raise InvalidInput(f"the server must be an http(s) URL, not {server!r}")
    return server.rstrip("/")


def _ask(value: str | None, label: str, option: str) -> str:
    """An option's value, else a prompt on a terminal, else an error naming the option."""
    if value is not None and value.strip():
        return value.strip()
    if value is None and sys.stdin.isatty():
        answer = typer.prompt(label, err=True).strip()
        if answer:
            return answer
    raise InvalidInput(f"{label.lower()} required", hint=f"Pass {option}.")


def _password(from_stdin: bool, *, confirm: bool = False) -> str:
    if from_stdin:
        if sys.stdin.isatty():
            raise InvalidInput(
                "--password-stdin reads a pipe, not the terminal",
                hint="Leave it out to be prompted instead.",
            )
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        raise InvalidInput(
            "no terminal to ask for the password", hint="Pipe it in with --password-stdin."
        )
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm, err=True)
    if not password:
        raise InvalidInput("the password is empty")
    return password


def _client(server: str):
    from flipdeck.sync import credentials
    from flipdeck.sync.client import ServerClient

    return ServerClient(server, on_tokens=credentials.save)


def _device_name() -> str:
    return socket.gethostname()[:100] or "flipdeck"


def bind(account) -> bool:
    """Tie this collection's sync state to ``account``; when it last synced with another
    account or server, start its sync over. True if it was started over."""
    from flipdeck.cli.common import collection
    from flipdeck.sync.engine import CURSOR_KEY, LAST_SYNC_KEY

    key = f"{account.server} {account.user_id}"
    with collection() as col, col.transaction():
        previous = col.meta(ACCOUNT_KEY)
        reset = previous != key and (
            previous is not None
            or col.meta(CURSOR_KEY) is not None
            or col.conn.execute("SELECT 1 FROM changes WHERE pushed = 1 LIMIT 1").fetchone()
        )
        if reset:
            col.conn.execute("UPDATE changes SET pushed = 0 WHERE pushed <> 0")
            col.conn.execute("DELETE FROM meta WHERE key IN (?, ?)", (CURSOR_KEY, LAST_SYNC_KEY))
        col.conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (ACCOUNT_KEY, key)
        )
    return bool(reset)


def _report(account, as_json: bool, verb: str) -> None:
    if as_json:
        output.print_json(
            {"server": account.server, "username": account.username, "user_id": account.user_id}
        )
    else:
        output.info(f"{verb} {account.username} on {account.server}.")


def _signed_in(account, as_json: bool, verb: str) -> None:
    if bind(account):
        output.info(
            "note: this collection synced with another account or server before; "
            "its next sync sends and receives everything again."
        )
    _report(account, as_json, verb)


def register(
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="The name to sign in with.")
    ] = None,
    email: Annotated[str | None, typer.Option("--email", help="Your e-mail address.")] = None,
    server: ServerOption = None,
    password_stdin: PasswordStdin = False,
    as_json: JsonOption = False,
) -> None:
    """Create an account on a server and sign this device in."""
    url = _server(server)
    name = _ask(username, "Username", "--username")
    mail = _ask(email, "E-mail", "--email")
    password = _password(password_stdin, confirm=True)
    with _client(url) as client:
        account = client.register(name, mail, password, _device_name())
    _signed_in(account, as_json, "Registered and signed in as")


def login(
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="Your username (or e-mail address).")
    ] = None,
    email: Annotated[
        str | None,
        typer.Option("--email", help="Sign in with your e-mail address instead of the username."),
    ] = None,
    server: ServerOption = None,
    password_stdin: PasswordStdin = False,
    as_json: JsonOption = False,
) -> None:
    """Sign this device in to a server."""
    url = _server(server)
    if username is not None and email is not None:
        raise InvalidInput("give --username or --email, not both")
    who = email.strip() if email else _ask(username, "Username", "--username")
    password = _password(password_stdin)
    with _client(url) as client:
        account = client.login(who, password, _device_name())
    _signed_in(account, as_json, "Signed in as")


def logout() -> None:
    """Sign this device out (the server forgets its session; local data stays)."""
    from flipdeck.sync import credentials
    from flipdeck.sync.client import ServerClient
    from flipdeck.sync.errors import SyncError

    account = credentials.load()
    if account is None:
        output.info("Not signed in.")
        return
    try:
        with ServerClient(account.server, account, on_tokens=credentials.save) as client:
            client.logout()
    except SyncError as error:
        output.info(f"note: the server was not told ({error.message}); signed out here.")
    credentials.clear()
    output.info(f"Signed out of {account.server}.")


def whoami(as_json: JsonOption = False) -> None:
    """Who this device is signed in as (no network needed)."""
    from flipdeck.sync import credentials
    from flipdeck.sync.errors import AuthRequired

    account = credentials.load()
    if account is None:
        raise AuthRequired("not signed in", hint="Sign in with `flipdeck login --server URL`.")
    _report(account, as_json, "Signed in as")

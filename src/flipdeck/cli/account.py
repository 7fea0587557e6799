"""Provides `flipdeck register|login|logout|whoami`: signing this device in to a server.

Passwords come from a hidden prompt, or from stdin with ``--password-stdin`` (for scripts);
never from an option. Tokens go to the OS keyring (or a user-only file where there is none).
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

ServerOption = Annotated[
    str | None,
    typer.Option("--server", help="Server URL (default: FLIPDECK_SERVER, or the one you last "
                 "signed in to)."),
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


def _password(from_stdin: bool, *, confirm: bool = False) -> str:
    if from_stdin:
        if sys.stdin.isatty():
            raise InvalidInput("--password-stdin reads a pipe, not the terminal",
                               hint="Leave it out to be prompted instead.")
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InvalidInput("no terminal to ask for the password",
                           hint="Pipe it in with --password-stdin.")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=confirm,
                        err=True)


def _client(server: str):
    from flipdeck.sync import credentials
    from flipdeck.sync.client import ServerClient

    return ServerClient(server, on_tokens=credentials.save)


def _device_name() -> str:
    return socket.gethostname()[:100] or "flipdeck"


def _report(account, as_json: bool, verb: str) -> None:
    if as_json:
        output.print_json({"server": account.server, "username": account.username,
                           "user_id": account.user_id})
    else:
        output.info(f"{verb} {account.username} on {account.server}.")


def register(
    username: Annotated[str, typer.Option("--username", "-u", help="The name to sign in with.")],
    email: Annotated[str, typer.Option("--email", help="Your e-mail address.")],
    server: ServerOption = None,
    password_stdin: PasswordStdin = False,
    as_json: JsonOption = False,
) -> None:
    """Create an account on a server and sign this device in."""
    url = _server(server)
    password = _password(password_stdin, confirm=True)
    with _client(url) as client:
        account = client.register(username, email, password, _device_name())
    _report(account, as_json, "Registered and signed in as")


def login(
    username: Annotated[str, typer.Option("--username", "-u",
                                          help="Your username or e-mail address.")],
    server: ServerOption = None,
    password_stdin: PasswordStdin = False,
    as_json: JsonOption = False,
) -> None:
    """Sign this device in to a server."""
    url = _server(server)
    password = _password(password_stdin)
    with _client(url) as client:
        account = client.login(username, password, _device_name())
    _report(account, as_json, "Signed in as")


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
    from flipdeck.core.errors import FlipdeckError
    from flipdeck.sync import credentials

    account = credentials.load()
    if account is None:
        raise FlipdeckError("not signed in", hint="Sign in with `flipdeck login --server URL`.")
    _report(account, as_json, "Signed in as")

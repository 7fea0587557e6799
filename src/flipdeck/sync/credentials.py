"""Provides where sign-in tokens live: the OS keyring, or — where no keyring backend exists (a
headless server, CI) — a file in ``FLIPDECK_HOME`` readable only by the user, which flipdeck
says once.

Only tokens are secret; the account's name and server are kept beside them in the same record,
so `flipdeck whoami` needs no network.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from flipdeck.paths import home

SERVICE = "flipdeck"
_FILE = "credentials.json"
_WARNED = ".credentials-file-notice"


@dataclass
class Account:
    """A signed-in account on one server."""

    server: str
    username: str
    user_id: str
    access: str
    refresh: str


def _keyring():
    """The keyring module if a usable backend exists, else ``None``."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:  # a broken keyring install must not stop sync
        return None
    if isinstance(backend, fail.Keyring) or "fail" in type(backend).__module__:
        return None
    return keyring


def _file() -> Path:
    return home() / _FILE


def _say_once() -> None:
    marker = home() / _WARNED
    if not marker.exists():
        sys.stderr.write(
            f"note: no system keyring is available; your sign-in is kept in {_file()} "
            "(readable only by you)\n"
        )
        marker.touch()


def load() -> Account | None:
    """The signed-in account, if any."""
    ring = _keyring()
    if ring is not None:
        raw = ring.get_password(SERVICE, "account")
    else:
        path = _file()
        raw = path.read_text(encoding="utf-8") if path.exists() else None
    if not raw:
        return None
    try:
        return Account(**json.loads(raw))
    except (TypeError, ValueError):
        return None


def save(account: Account) -> None:
    """Keep the account's tokens (replacing any previous sign-in)."""
    raw = json.dumps(asdict(account))
    ring = _keyring()
    if ring is not None:
        ring.set_password(SERVICE, "account", raw)
        return
    _say_once()
    path = _file()
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(raw)
    os.replace(temporary, path)  # atomic: a crash never leaves half a file


def clear() -> None:
    """Forget the sign-in."""
    ring = _keyring()
    if ring is not None:
        with contextlib.suppress(Exception):  # nothing stored
            ring.delete_password(SERVICE, "account")
    _file().unlink(missing_ok=True)

"""Provides where sign-in tokens live: the OS keyring, or — where no keyring backend exists (a
headless server, CI) or the one there fails — a file in ``FLIPDECK_HOME`` readable only by the
user, which flipdeck says once.

Each ``FLIPDECK_HOME`` is its own installation, so the keyring entry is named after that
directory: two collections on one machine can be signed in to different accounts. Only tokens
are secret; the account's name and server are kept beside them in the same record, so
`flipdeck whoami` needs no network.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from flipdeck.paths import home

SERVICE = "flipdeck"
FILE = "credentials.json"
NOTICE = ".credentials-file-notice"


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


def entry() -> str:
    """The keyring user name of this installation's sign-in (one per ``FLIPDECK_HOME``)."""
    return f"account:{home().resolve()}"


def path() -> Path:
    """The fallback file."""
    return home() / FILE


def _say_once() -> None:
    marker = home() / NOTICE
    if not marker.exists():
        sys.stderr.write(
            f"note: no system keyring is available; your sign-in is kept in {path()} "
            "(readable only by you)\n"
        )
        marker.touch()


def _parse(raw: str | None) -> Account | None:
    if not raw:
        return None
    try:
        return Account(**json.loads(raw))
    except (TypeError, ValueError):
        return None


def load() -> Account | None:
    """The signed-in account, if any."""
    ring = _keyring()
    if ring is not None:
        try:
            account = _parse(ring.get_password(SERVICE, entry()))
        except Exception:  # a keyring that fails (locked, no D-Bus): the file may hold it
            account = None
        if account is not None:
            return account
    file = path()
    try:
        return _parse(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def save(account: Account) -> None:
    """Keep the account's tokens (replacing any previous sign-in)."""
    raw = json.dumps(asdict(account))
    ring = _keyring()
    if ring is not None:
        try:
            ring.set_password(SERVICE, entry(), raw)
        except Exception:
            pass  # fall back to the file below
        else:
            path().unlink(missing_ok=True)  # no stale copy of older tokens on disk
            return
    _say_once()
    _write_private(path(), raw)


def _write_private(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` with mode 0600, atomically: a crash leaves the old file or
    the new one, never half of one (nor a copy anybody else can read)."""
    fd, temporary = tempfile.mkstemp(prefix=".credentials-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp creates it 0600
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def clear() -> None:
    """Forget the sign-in (keyring entry and file alike)."""
    ring = _keyring()
    if ring is not None:
        with contextlib.suppress(Exception):  # nothing stored, or the keyring fails
            ring.delete_password(SERVICE, entry())
    path().unlink(missing_ok=True)

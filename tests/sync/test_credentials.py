"""Where sign-in tokens live (``flipdeck.sync.credentials``).

* With a keyring backend (an in-memory one, installed with ``keyring.set_keyring``): the record
  goes there, under an entry named after this ``FLIPDECK_HOME``, and no file holds it.
* With none (``keyring.backends.fail.Keyring``, as on a headless server): a file in
  ``FLIPDECK_HOME``, mode 0600 whatever the umask, replaced atomically, with one note on stderr
  the first time only.
* A keyring that fails at use falls back to the file; ``clear()`` removes both.
"""

from __future__ import annotations

import json
import os
import stat

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import KeyringError, PasswordDeleteError

from flipdeck.sync import credentials
from flipdeck.sync.credentials import Account


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps passwords in a dict (and can be made to fail)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}
        self.broken = False

    def _check(self) -> None:
        if self.broken:
            raise KeyringError("the keyring is locked")

    def get_password(self, service, username):
        self._check()
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self._check()
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self._check()
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


@pytest.fixture
def restore_keyring():
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def ring(restore_keyring) -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def no_ring(restore_keyring) -> None:
    keyring.set_keyring(fail.Keyring())


def account(n: int = 1) -> Account:
    return Account("http://127.0.0.1:8000", "alice", "u-1", f"access-{n}", f"refresh-{n}")


# -- with a keyring ----------------------------------------------------------------------------


def test_the_keyring_holds_the_record_and_no_file_does(ring, hermetic, capsys):
    credentials.save(account())
    assert credentials.load() == account()
    assert list(ring.store) == [(credentials.SERVICE, credentials.entry())]
    assert json.loads(ring.store[(credentials.SERVICE, credentials.entry())])["refresh"] == (
        "refresh-1"
    )
    assert not credentials.path().exists()
    assert capsys.readouterr().err == ""  # nothing to say when the keyring works


def test_each_flipdeck_home_has_its_own_keyring_entry(ring, tmp_path, monkeypatch):
    monkeypatch.setenv("FLIPDECK_HOME", str(tmp_path / "one"))
    credentials.save(account(1))
    monkeypatch.setenv("FLIPDECK_HOME", str(tmp_path / "two"))
    assert credentials.load() is None  # a second collection is not signed in by the first
    credentials.save(account(2))
    assert credentials.load() == account(2)
    monkeypatch.setenv("FLIPDECK_HOME", str(tmp_path / "one"))
    assert credentials.load() == account(1)
    assert len(ring.store) == 2


def test_saving_to_the_keyring_removes_an_older_file(ring):
    keyring.set_keyring(fail.Keyring())
    credentials.save(account(1))  # no keyring yet: the file
    assert credentials.path().exists()
    keyring.set_keyring(ring)
    assert credentials.load() == account(1)  # still found, in the file
    credentials.save(account(2))
    assert not credentials.path().exists()  # no stale tokens left on disk
    assert credentials.load() == account(2)


def test_a_failing_keyring_falls_back_to_the_file(ring, capsys):
    ring.broken = True
    credentials.save(account())
    assert credentials.path().exists()
    assert "no system keyring" in capsys.readouterr().err
    assert credentials.load() == account()  # get_password fails too: the file answers
    credentials.clear()  # delete_password fails: the file still goes
    assert not credentials.path().exists()
    assert credentials.load() is None


# -- without one -------------------------------------------------------------------------------


def test_without_a_keyring_a_private_file_holds_it(no_ring, hermetic):
    credentials.save(account())
    file = credentials.path()
    assert file.parent == hermetic  # in FLIPDECK_HOME
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert json.loads(file.read_text()) == {
        "server": "http://127.0.0.1:8000",
        "username": "alice",
        "user_id": "u-1",
        "access": "access-1",
        "refresh": "refresh-1",
    }
    assert credentials.load() == account()


def test_the_file_is_private_whatever_the_umask(no_ring):
    old = os.umask(0)
    try:
        credentials.save(account(1))
        credentials.save(account(2))  # a replacement is private too
    finally:
        os.umask(old)
    assert stat.S_IMODE(credentials.path().stat().st_mode) == 0o600


def test_the_note_is_said_once(no_ring, capsys):
    credentials.save(account(1))
    first = capsys.readouterr().err
    assert first.count("\n") == 1
    assert "no system keyring" in first and str(credentials.path()) in first
    credentials.save(account(2))  # a refresh saving the new pair
    credentials.clear()
    credentials.save(account(3))  # a later sign-in, even after signing out
    assert capsys.readouterr().err == ""


def test_the_file_is_replaced_atomically(no_ring):
    credentials.save(account(1))
    file = credentials.path()
    before = file.stat().st_ino

    def crash(*args):
        raise OSError("disk unplugged")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "replace", crash)
        with pytest.raises(OSError, match="unplugged"):
            credentials.save(account(2))
    # the old record is whole, and no half-written temporary copy is left behind
    assert credentials.load() == account(1)
    assert sorted(p.name for p in file.parent.iterdir()) == [credentials.NOTICE, credentials.FILE]
    credentials.save(account(2))
    assert credentials.load() == account(2)
    assert file.stat().st_ino != before  # a new file took the old one's place
    assert sorted(p.name for p in file.parent.iterdir()) == [credentials.NOTICE, credentials.FILE]


def test_a_damaged_file_means_signed_out(no_ring):
    credentials.path().write_text("{not json", encoding="utf-8")
    assert credentials.load() is None
    credentials.path().write_text('{"server": "x"}', encoding="utf-8")
    assert credentials.load() is None


def test_clear_removes_both(ring):
    credentials.save(account(1))  # in the keyring
    keyring.set_keyring(fail.Keyring())
    credentials.save(account(2))  # and, from a time without one, in the file
    keyring.set_keyring(ring)
    assert ring.store and credentials.path().exists()
    credentials.clear()
    assert ring.store == {}
    assert not credentials.path().exists()
    assert credentials.load() is None
    credentials.clear()  # signed out already: nothing to do, no error

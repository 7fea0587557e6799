"""Provides password checking and hashing (security.md rules 14–17).

scrypt with the stored parameters written into each hash (``scrypt$ln=17,r=8,p=1$salt$hash``,
base64), so hashes made with old parameters still verify and are upgraded at the next login.
Hashing runs behind a per-process semaphore: a request that waits too long gets 503.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import unicodedata
from functools import lru_cache
from importlib import resources

from flipdeck.server.config import PasswordPolicy
from flipdeck.server.errors import ApiError, validation

MIN_LENGTH, MAX_LENGTH = 12, 1024
_MAXMEM = 256 * 1024 * 1024


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords, from zxcvbn's frequency list (MIT licence, see
    ``common-passwords.LICENSE``), bundled so the check runs offline."""
    text = resources.files("flipdeck.server").joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip())


def normalise(password: str) -> str:
    """NFKC, as NIST asks for memorised secrets; no case folding, no trimming."""
    return unicodedata.normalize("NFKC", password)


def check_policy(password: str, *, username: str, email: str, pointer: str) -> str:
    """The normalised password, or a 422 saying which rule it breaks."""
    if not isinstance(password, str):
        raise validation(pointer, "must be a string")
    value = normalise(password)
    if len(value) < MIN_LENGTH:
        raise validation(pointer, f"must be at least {MIN_LENGTH} characters")
    if len(value) > MAX_LENGTH:
        raise validation(pointer, f"must be at most {MAX_LENGTH} characters")
    folded = value.casefold()
    common = common_passwords()
    # "password1234", "dragon2024!": a common password with digits or symbols added
    base = folded.rstrip("0123456789!@#$%^&*()-_=+.?,;:~ ")
    if folded in common or (len(base) >= 6 and base in common):
        raise validation(pointer, "is too common (or a common password with digits added)")
    if folded in (username.casefold(), email.casefold()):
        raise validation(pointer, "must not be your username or e-mail address")
    return value


def _derive(password: str, salt: bytes, policy: PasswordPolicy) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=2**policy.cost,
        r=policy.block_size,
        p=policy.parallelism,
        maxmem=_MAXMEM,
        dklen=32,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


class Hasher:
    """Hashes and verifies under a semaphore of ``slots`` concurrent hashes."""

    def __init__(self, policy: PasswordPolicy, slots: int, wait: float) -> None:
        self.policy = policy
        self.wait = wait
        self._slots = threading.BoundedSemaphore(max(1, slots))
        self._dummy = self._hash_unguarded(secrets.token_urlsafe(16))

    def _hash_unguarded(self, password: str) -> str:
        salt = secrets.token_bytes(16)
        digest = _derive(normalise(password), salt, self.policy)
        return f"scrypt${self.policy.label}${_b64(salt)}${_b64(digest)}"

    def _slot(self):
        if not self._slots.acquire(timeout=self.wait):
            raise ApiError(
                "server_busy",
                "Too many sign-ins at once; retry in a moment.",
                headers={"Retry-After": "1"},
            )
        return self._slots

    def hash(self, password: str) -> str:
        """A new hash of ``password`` with the configured parameters."""
        slot = self._slot()
        try:
            return self._hash_unguarded(password)
        finally:
            slot.release()

    def verify(self, password: str, stored: str | None) -> bool:
        """Whether ``password`` matches; an unknown user (``None``) costs the same as a wrong
        password, against a dummy hash with the same parameters."""
        slot = self._slot()
        try:
            return self._verify_unguarded(password, stored or self._dummy) and stored is not None
        finally:
            slot.release()

    def _verify_unguarded(self, password: str, stored: str) -> bool:
        try:
            scheme, params, salt, digest = stored.split("$")
            values = dict(item.split("=") for item in params.split(","))
            policy = PasswordPolicy(int(values["ln"]), int(values["r"]), int(values["p"]))
        except (ValueError, KeyError):
            return False
        if scheme != "scrypt":
            return False
        # the same NFKC form the hash was made from, whatever form the client sends now
        try:
            expected = _unb64(digest)
            derived = _derive(normalise(password), _unb64(salt), policy)
        except ValueError:  # a damaged stored hash (bad base64, parameters beyond maxmem)
            return False
        return hmac.compare_digest(derived, expected)

    def needs_rehash(self, stored: str) -> bool:
        """Whether a hash was made with other parameters than the configured ones."""
        parts = stored.split("$")
        return len(parts) != 4 or parts[1] != self.policy.label

"""Provides the sync client's errors, each a :class:`~flipdeck.core.errors.FlipdeckError` so the
CLI translates them like any other (auth → exit 4, unreachable → exit 5)."""

from __future__ import annotations

from flipdeck.core.errors import FlipdeckError


class SyncError(FlipdeckError):
    """Something went wrong talking to the server."""


class AuthRequired(SyncError):
    """Not signed in, or the server rejected the credentials (sign in again)."""


class ServerUnavailable(SyncError):
    """The server cannot be reached or is overloaded; local data is intact, retry later."""

    def __init__(self, message: str, hint: str | None = None, retry_after: float | None = None):
        super().__init__(message, hint or "Your collection is unchanged; try again later.")
        self.retry_after = retry_after


class ProtocolMismatch(SyncError):
    """The server speaks a protocol this flipdeck does not (upgrade one of them)."""


class Rejected(SyncError):
    """The server refused the request as invalid (``code`` says why)."""

    def __init__(self, message: str, code: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.code = code

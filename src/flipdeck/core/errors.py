"""Provides the error vocabulary of the client's domain and store layers.

Each front end (CLI, TUI, sync) translates these exactly once, at its boundary.
"""

from __future__ import annotations


class FlipdeckError(Exception):
    """Base of every error a user can cause or fix; ``hint`` says what to do next."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotFound(FlipdeckError):
    """A deck, note, card, note type or preset that does not exist."""


class InvalidInput(FlipdeckError):
    """A value the user gave that the rules refuse (empty field, bad name, bad number)."""


class Conflict(FlipdeckError):
    """The action clashes with existing data (a deck name already taken, a duplicate field)."""


class QueryError(InvalidInput):
    """A search query that does not parse; ``position`` is the offending character's index."""

    def __init__(self, message: str, query: str, position: int) -> None:
        super().__init__(message, hint="See `flipdeck help search` for the query language.")
        self.query = query
        self.position = position


class CollectionUnavailable(FlipdeckError):
    """The collection file cannot be used: locked, corrupt, or written by a newer flipdeck."""

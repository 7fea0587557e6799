"""Provides the app-wide messages: events that more than one screen (or the app itself) reacts
to. Each is a past-tense dataclass; messages one widget posts to its parent are nested in that
widget instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class CollectionReplaced(Message):
    """The app reopened its collection (after a sync wrote to the file through another
    connection), so every screen must drop what it read and read again."""


@dataclass
class SyncProgressed(Message):
    """A sync worker sent or received another batch; a newer one replaces an unhandled one,
    so a large sync cannot flood the queue."""

    stage: str
    """``push`` or ``pull``."""
    done: int
    total: int | None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncProgressed)


@dataclass
class SyncFinished(Message):
    """A sync completed; ``report`` is the engine's ``SyncReport``."""

    report: Any


@dataclass
class SyncFailed(Message):
    """A sync stopped with an error the user can act on (nothing is lost: changes stay
    queued)."""

    message: str
    hint: str | None = None


@dataclass
class StatusLoaded(Message):
    """The sync screen's local status was read: server, account, last sync, pending."""

    status: dict

"""Provides what every importer returns and takes, so `flipdeck import` reports all formats alike.

An importer never prints: it counts into an :class:`ImportSummary` and reports progress through a
callable, and the command decides whether that becomes a rich progress bar, a table or `--json`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

OnDuplicate = Literal["update", "skip", "add"]

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while an importer works; ``total`` may be 0 if unknown."""


def no_progress(done: int, total: int) -> None:
    """The progress callback for callers that show none."""


class ImportFailed(ValueError):
    """A file that cannot be imported: the message says where and what, and nothing was written.

    ``where`` names the place in the file (``"line 3, column 2"``, ``"media/12"``) when known.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


@dataclass
class ImportOptions:
    """The choices a user can make on the command line, shared by every format."""

    deck: str | None = None
    notetype: str | None = None
    fields: tuple[str, ...] | None = None
    delimiter: str | None = None
    tags: tuple[str, ...] = ()
    on_duplicate: OnDuplicate = "update"
    dry_run: bool = False


@dataclass
class ImportSummary:
    """What an import did (or, with ``dry_run``, would do)."""

    format: str
    added: int = 0
    updated: int = 0
    skipped: int = 0
    cards: int = 0
    reviews: int = 0
    media: int = 0
    decks: int = 0
    notetypes: int = 0
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The summary as `flipdeck import --json` prints it."""
        return asdict(self)

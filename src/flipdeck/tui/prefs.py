"""Provides the TUI's own preferences (the theme chosen in the command palette), kept in
``tui.json`` in flipdeck's home directory: a per-device choice that is never synced and that
no SQL should be needed for.

``TEXTUAL_THEME`` (a comma-separated list; the first theme that exists wins) overrides the saved
choice, as textual's own convention says.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

FILE = "tui.json"
DEFAULT_THEME = "flipdeck-dark"


def _path() -> Path:
    from flipdeck.paths import home

    return home() / FILE


def load() -> dict:
    """The saved preferences (``{}`` when none are saved or the file is unreadable)."""
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save(**changes: object) -> None:
    """Merge ``changes`` into the saved preferences; failing to save is not worth an error."""
    data = load() | changes
    with contextlib.suppress(OSError):
        _path().parent.mkdir(parents=True, exist_ok=True)
        _path().write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def initial_theme(available: Iterable[str], requested: str | None = None) -> str:
    """The theme to start with: ``requested`` (from the caller), else the first of
    ``TEXTUAL_THEME`` that exists, else the saved one, else flipdeck's dark theme."""
    names = set(available)
    candidates = [requested] if requested else []
    candidates += [n.strip() for n in os.environ.get("TEXTUAL_THEME", "").split(",")]
    candidates.append(load().get("theme"))
    for name in candidates:
        if name and name in names:
            return name
    return DEFAULT_THEME

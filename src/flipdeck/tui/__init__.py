"""Provides the textual app (`flipdeck tui`, or `flipdeck` alone in a terminal): decks, study,
browse, add, statistics and sync screens over the same store functions the CLI uses.

Importing this package imports textual, so only the command that opens the app does.
"""

from __future__ import annotations

from flipdeck.tui.app import FlipdeckApp, make_app

__all__ = ["FlipdeckApp", "make_app"]

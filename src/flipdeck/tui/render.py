"""Provides card HTML as rich text: the same conversion the CLI's card view makes (styled
spans from ``core.html``), repeated here because the TUI never imports the CLI."""

from __future__ import annotations

from rich.text import Text

from flipdeck.core.html import to_spans


def rich_text(html: str) -> Text:
    """Card HTML as rich Text (user text is never parsed as markup)."""
    text = Text()
    for piece, style in to_spans(html):
        text.append(piece, style=style or None)
    return text

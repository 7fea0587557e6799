"""Provides :func:`summary_text`: the end-of-session summary, as the CLI words it, with the
ratings broken down."""

from __future__ import annotations

from rich.text import Text

from flipdeck.tui.widgets.study.answers import NAMES


def minutes(ms: int) -> str:
    """A duration as ``1m 05s`` or ``42s``."""
    seconds = round(ms / 1000)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def one_line(summary) -> str:
    """The session in one line (for a notification when leaving early)."""
    if not summary.answered:
        return "No cards answered."
    again = f" · again {summary.again_rate:.0%}" if summary.again_rate is not None else ""
    return f"Studied {summary.answered} card(s) in {minutes(summary.time_ms)}{again}."


def summary_text(summary, waiting_minutes: int | None) -> Text:
    """What the study screen shows when nothing more is due."""
    text = Text()
    if waiting_minutes is not None:
        text.append("Nothing more for now.\n", style="bold")
        text.append(
            f"Learning cards are due again in about {waiting_minutes} min; study again then.\n\n"
        )
    else:
        text.append("Congratulations! Nothing more is due today.\n\n", style="bold")
    text.append(one_line(summary) + "\n")
    if summary.answered:
        parts = [f"{NAMES[r]} {summary.ratings[r]}" for r in NAMES if summary.ratings[r]]
        text.append(" · ".join(parts) + "\n")
    if summary.buried or summary.suspended:
        text.append(f"Buried {summary.buried} · suspended {summary.suspended}\n")
    text.append("\nu undoes the last answer · Escape returns to the decks", style="dim")
    return text

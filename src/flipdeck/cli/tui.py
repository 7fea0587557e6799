"""Provides `flipdeck tui`: open the textual app (also what `flipdeck` alone does in a
terminal). textual is imported here, inside the command, so no other command pays for it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from flipdeck.core.errors import InvalidInput


def tui(
    deck: Annotated[
        str | None, typer.Argument(help="Start studying this deck (and its children) at once.")
    ] = None,
    study: Annotated[
        bool, typer.Option("--study", help="Start studying at once (every deck, without DECK).")
    ] = False,
    theme: Annotated[
        str | None,
        typer.Option(help="Theme: flipdeck-dark, flipdeck-light or any textual theme."),
    ] = None,
) -> None:
    """Open the full-screen app: decks, study, browse, add, statistics and sync."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InvalidInput(
            "the app needs a terminal (stdin and stdout must not be redirected)",
            hint="Use `flipdeck study` to study line by line in a pipe or script.",
        )
    open_app(study=deck if deck else (True if study else None), theme=theme)


def open_app(*, study: str | bool | None = None, theme: str | None = None) -> None:
    """Build and run the app on the user's collection (errors opening it are the CLI's)."""
    from flipdeck.tui import make_app

    make_app(study=study, theme=theme).run()

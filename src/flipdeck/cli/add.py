"""Provides `flipdeck add`: one note from arguments, or many from tab-separated stdin."""

from __future__ import annotations

from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import collection, open_source
from flipdeck.cli.output import JsonOption
from flipdeck.core.errors import InvalidInput


def add(
    fields: Annotated[
        list[str] | None, typer.Argument(help="Field values, in field order.")
    ] = None,
    deck: Annotated[str, typer.Option("--deck", "-d", help="Deck to add to.")] = "Default",
    notetype: Annotated[str, typer.Option("--type", "-t", help="Note type.")] = "Basic",
    tags: Annotated[str, typer.Option("--tags", help="Space-separated tags.")] = "",
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Read notes from a file ('-' for stdin): one per line, fields separated by tabs.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add notes. With --from, every line is a note and all are added in one transaction.

    Examples: flipdeck add --deck Spanish hola hello ·
    printf 'uno\\tone\\ndos\\ttwo\\n' | flipdeck add --deck Spanish --from -
    """
    from flipdeck.store import decks, notes, notetypes

    if source is None and not fields:
        raise InvalidInput("give the field values, or --from - to read notes from stdin")
    if source is not None and fields:
        raise InvalidInput("give either field values or --from, not both")
    if source is not None:
        # (line number, fields): blank lines are skipped but still counted, so an error names
        # the line the user sees in their file
        with open_source(source) as stream:
            rows = [
                (number, line.rstrip("\r\n").split("\t"))
                for number, line in enumerate(stream, start=1)
                if line.strip()
            ]
    else:
        rows = [(1, list(fields or []))]
    added = []
    with collection() as col, col.transaction():
        nt = notetypes.find(col, notetype)
        target = decks.find(col, deck)
        for number, row in rows:
            try:
                note, card_ids = notes.add(col, nt, target.id, row, tags.split())
            except InvalidInput as error:
                if source is None:
                    raise
                raise InvalidInput(
                    f"line {number}: {error.message}; nothing was added", hint=error.hint
                ) from None
            added.append({"note_id": note.id, "card_ids": card_ids})
    if as_json:
        output.print_json(added)
    else:
        cards = sum(len(a["card_ids"]) for a in added)
        output.info(f"Added {len(added)} note(s), {cards} card(s) to {target.name}.")

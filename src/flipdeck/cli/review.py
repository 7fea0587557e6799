"""Provides `flipdeck review`: answer cards from scripts, one or many in one transaction."""

from __future__ import annotations

from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import collection, iso, open_source, parse_time
from flipdeck.cli.output import JsonOption
from flipdeck.core.errors import InvalidInput, NotFound

_RATINGS = {"1": 1, "2": 2, "3": 3, "4": 4, "again": 1, "hard": 2, "good": 3, "easy": 4}


def parse_rating(text: str) -> int:
    """A rating from 1–4 or again/hard/good/easy."""
    try:
        return _RATINGS[text.strip().lower()]
    except KeyError:
        raise InvalidInput(
            f"not a rating: {text!r}", hint="Use again, hard, good, easy (or 1–4)."
        ) from None


def review(
    card: Annotated[str | None, typer.Argument(help="Card id (or prefix).")] = None,
    rating: Annotated[
        str | None, typer.Option("--rating", "-r", help="again, hard, good or easy (or 1–4).")
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="When it was answered (ISO-8601); now if omitted.")
    ] = None,
    duration: Annotated[int | None, typer.Option(help="Milliseconds spent answering.")] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Read 'CARD_ID RATING [ISO-8601 TIME]' lines from a file ('-' = stdin); "
            "all are recorded in one transaction, or none.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record answers without the study screen, for scripts and other tools."""
    from flipdeck.core.scheduling import STATE_NAMES
    from flipdeck.store import cards, reviews

    if source is None:
        if card is None or rating is None:
            raise InvalidInput("give CARD and --rating, or --from - to read answers")
        lines = [(1, card, rating, at)]
    else:
        if card is not None:
            raise InvalidInput("give either CARD or --from, not both")
        with open_source(source) as stream:
            lines = []
            for number, text in enumerate(stream, start=1):
                parts = text.split()
                if not parts or parts[0].startswith("#"):
                    continue
                if len(parts) not in (2, 3):
                    raise InvalidInput(
                        f"line {number}: expected 'CARD_ID RATING [TIME]', got {text.strip()!r};"
                        " nothing was recorded"
                    )
                lines.append((number, parts[0], parts[1], parts[2] if len(parts) == 3 else None))
    results = []
    with collection() as col, col.transaction():
        for number, card_ref, rating_text, when in lines:
            try:
                card_id = cards.resolve(col, card_ref)
                answered_at = parse_time(when) if when else None
                done = reviews.answer(
                    col,
                    card_id,
                    parse_rating(rating_text),
                    at=answered_at,
                    duration_ms=duration,
                )
            except (InvalidInput, NotFound) as error:
                if source is None:
                    raise
                raise type(error)(
                    f"line {number}: {error.message}; nothing was recorded", hint=error.hint
                ) from None
            results.append(
                {
                    "card_id": card_id,
                    "review_id": done.event_id,
                    "state": STATE_NAMES[done.after.state],
                    "due": iso(done.after.due),
                    "interval": done.after.interval,
                    "leech": done.leech,
                }
            )
    if as_json:
        output.print_json(results if source is not None else results[0])
    else:
        output.info(f"Recorded {len(results)} answer(s).")

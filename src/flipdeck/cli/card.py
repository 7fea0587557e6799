"""Provides `flipdeck card …`: list, show, edit and act on cards chosen by a search query."""

from __future__ import annotations

from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import (
    collection,
    confirm,
    iso,
    require_some,
    select_card,
    select_cards,
)
from flipdeck.cli.output import JsonOption, YesOption

card_app = typer.Typer(
    help="List, show, edit, flag, suspend, bury, forget, reschedule and delete cards.",
    no_args_is_help=True,
)

Query = Annotated[str, typer.Argument(help="A card id (or prefix) or a search query.")]


@card_app.command("list")
def list_cards(
    query: Annotated[str, typer.Argument(help="Search query (see `flipdeck help search`).")] = "",
    limit: Annotated[int | None, typer.Option(min=0, help="At most this many cards.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Cards matching a search query, in the order notes were added."""
    from flipdeck.cli.cardview import card_json
    from flipdeck.core.scheduling import STATE_NAMES
    from flipdeck.store import cards, search

    with collection() as col:
        now = col.now()
        ids = search.find_cards(col, query, now=now)
        if limit is not None:
            ids = ids[:limit]
        infos = [cards.info(col, cid) for cid in ids]
        if as_json:
            output.print_json([card_json(col, c, now) for c in infos])
            return
        import sys

        short = sys.stdout.isatty()
        output.table(
            ["Card", "Deck", "State", "Due", "Question"],
            (
                [
                    c.id[:8] if short else c.id,
                    c.deck,
                    ("suspended" if c.suspended else STATE_NAMES[c.state.state]),
                    (iso(c.state.due) or "")[:10] if c.state.state else "",
                    cards.question(col, c)[:60] if short else cards.question(col, c),
                ]
                for c in infos
            ),
        )


@card_app.command("show")
def show(card: Query, as_json: JsonOption = False) -> None:
    """One card: its faces, scheduling state and review history (a query must match one card)."""
    from flipdeck.cli.cardview import card_json, rich_text
    from flipdeck.core.scheduling import RATING_NAMES
    from flipdeck.store import cards, presets, reviews

    with collection() as col:
        now = col.now()
        info = cards.info(col, select_card(col, card))
        data = card_json(col, info, now)
        history = [
            {
                "id": e.id,
                "reviewed_at": iso(e.reviewed_at),
                "rating": RATING_NAMES.get(e.rating, "manual"),
                "kind": e.kind,
            }
            for e in reviews.events(col, info.id)
        ]
        scheduler = presets.scheduler(col, reviews.card_row(col, info.id).preset_id)
        data["retrievability"] = scheduler.retrievability(info.state, now)
        data["history"] = history
        front, back = cards.faces(col, info)
    if as_json:
        output.print_json(data)
        return
    out = output.console()
    out.print(rich_text(front))
    out.rule()
    out.print(rich_text(back))
    out.rule()
    output.table(
        ["", ""],
        [[k, v] for k, v in data.items() if k not in ("history", "question", "tags")]
        + [["tags", " ".join(data["tags"])]],
    )
    if history:
        output.table(
            ["When", "Rating", "Kind"],
            ([h["reviewed_at"], h["rating"], h["kind"]] for h in history),
        )


@card_app.command("edit")
def edit(
    card: Query,
    field: Annotated[
        list[str] | None, typer.Option("--field", "-f", help="NAME=VALUE; repeatable.")
    ] = None,
    deck: Annotated[str | None, typer.Option(help="Move the card to this deck.")] = None,
) -> None:
    """Edit a card's note (in $EDITOR, or with --field), or move it with --deck."""
    from flipdeck.cli.editor import edit_note
    from flipdeck.cli.note import apply_field_options
    from flipdeck.store import cards, decks, notes

    with collection() as col:
        info = cards.info(col, select_card(col, card))
        if deck is not None:
            with col.transaction():
                cards.move(col, [info.id], decks.find(col, deck).id)
            output.info(f"Moved to {deck}.")
            if not field:
                return
        note = notes.load(col, info.note_id)
        if field:
            apply_field_options(col, note, field)
            output.info("Saved.")
        elif edit_note(col, note):
            output.info("Saved.")
        else:
            output.info("No change.")


def _act(
    query: str,
    action,
    done: str,
    *,
    as_json: bool = False,
    ask: str | None = None,
    yes: bool = False,
) -> None:
    """Run ``action(col, card_ids)`` on the cards a query picks, in one transaction.

    ``done`` is the report, formatted with ``changed`` and ``matched``; ``ask`` is a question
    (formatted with ``matched``) to confirm first when several cards match.
    """
    with collection() as col:
        ids = require_some(select_cards(col, query), "cards", query)
        if ask and len(ids) > 1:
            confirm(ask.format(matched=len(ids)), yes)
        with col.transaction():
            changed = action(col, ids)
    if as_json:
        output.print_json({"matched": len(ids), "changed": changed})
    else:
        output.info(done.format(changed=changed, matched=len(ids)))


@card_app.command("suspend")
def suspend(query: Query, as_json: JsonOption = False) -> None:
    """Suspend cards: they leave the study queue until unsuspended."""
    from flipdeck.store import cards

    _act(
        query,
        lambda col, ids: cards.set_suspended(col, ids, True),
        "Suspended {changed} of {matched} card(s).",
        as_json=as_json,
    )


@card_app.command("unsuspend")
def unsuspend(query: Query, as_json: JsonOption = False) -> None:
    """Unsuspend cards."""
    from flipdeck.store import cards

    _act(
        query,
        lambda col, ids: cards.set_suspended(col, ids, False),
        "Unsuspended {changed} of {matched} card(s).",
        as_json=as_json,
    )


@card_app.command("flag")
def flag(
    query: Query,
    number: Annotated[
        int,
        typer.Argument(
            help="Flag 1–7 (red, orange, green, blue, pink, turquoise, purple); 0 removes it."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Flag cards."""
    from flipdeck.store import cards

    _act(
        query,
        lambda col, ids: cards.set_flag(col, ids, number),
        "Flagged {changed} of {matched} card(s).",
        as_json=as_json,
    )


@card_app.command("bury")
def bury(
    query: Query,
    undo: Annotated[bool, typer.Option("--undo", help="Unbury instead.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Bury cards until the next learning day (or unbury them with --undo)."""
    from flipdeck.store import cards, config

    def action(col, ids):
        now = col.now()
        if undo:
            return cards.unbury(col, ids, now)
        return cards.bury(col, ids, config.calendar(col).next_cutoff(now))

    verb = "Unburied" if undo else "Buried"
    _act(query, action, verb + " {changed} of {matched} card(s).", as_json=as_json)


@card_app.command("forget")
def forget(query: Query, yes: YesOption = False, as_json: JsonOption = False) -> None:
    """Reset cards to new (recorded as a manual event; their history is kept)."""
    from flipdeck.store import reviews

    _act(
        query,
        reviews.forget,
        "Reset {changed} card(s) to new.",
        as_json=as_json,
        ask="Reset {matched} cards to new?",
        yes=yes,
    )


@card_app.command("set-due")
def set_due(
    query: Query,
    days: Annotated[
        str,
        typer.Argument(
            help="Days from today (0 = today, 3, or a range "
            "like 3-7 to spread cards), or a date YYYY-MM-DD."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Make cards due on a given day (a manual event, as Anki's Set Due Date)."""
    import random
    import re
    from datetime import date

    from flipdeck.core.errors import InvalidInput
    from flipdeck.store import config, reviews

    with collection() as col:
        ids = require_some(select_cards(col, query), "cards", query)
        today = config.calendar(col).today(col.now())
        text = days.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                targets = [date.fromisoformat(text).toordinal()] * len(ids)
            except ValueError:
                raise InvalidInput(f"not a date: {text!r}") from None
        elif m := re.fullmatch(r"(\d+)-(\d+)", text):
            low, high = sorted((int(m.group(1)), int(m.group(2))))
            rng = random.Random(today)  # spread deterministically within the range
            targets = [today + rng.randint(low, high) for _ in ids]
        elif re.fullmatch(r"-?\d+", text):
            targets = [today + int(text)] * len(ids)
        else:
            raise InvalidInput(
                f"not a number of days, range or date: {days!r}",
                hint="Write 0, 7, 3-7 or 2027-01-15.",
            )
        with col.transaction():
            for cid, day in zip(ids, targets, strict=True):
                reviews.set_due(col, [cid], day)
    if as_json:
        output.print_json({"matched": len(ids), "changed": len(ids)})
    else:
        output.info(f"Rescheduled {len(ids)} card(s).")


@card_app.command("delete")
def delete(query: Query, yes: YesOption = False, as_json: JsonOption = False) -> None:
    """Delete cards (a note left with no cards goes too; review history is kept)."""
    from flipdeck.store import cards

    _act(
        query,
        cards.delete,
        "Deleted {changed} card(s).",
        as_json=as_json,
        ask="Delete {matched} cards?",
        yes=yes,
    )

"""Provides `flipdeck deck …`: create, list, rename, delete, show and configure decks."""

from __future__ import annotations

from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import collection, confirm
from flipdeck.cli.output import JsonOption, YesOption

deck_app = typer.Typer(
    help="Create, list, rename, delete and configure decks.", no_args_is_help=True
)

DeckName = Annotated[str, typer.Argument(help="Deck name; levels joined by '::'.")]


def _counts_json(row) -> dict:
    return {
        "id": row.deck.id,
        "name": row.deck.name,
        "depth": row.depth,
        "new": row.new,
        "learning": row.learning,
        "review": row.review,
        "cards": row.total_cards,
        "preset_id": row.deck.preset_id,
    }


@deck_app.command("create")
def create(name: DeckName, as_json: JsonOption = False) -> None:
    """Create a deck (and any missing parents)."""
    from flipdeck.store import decks

    with collection() as col, col.transaction():
        deck = decks.create(col, name)
    if as_json:
        output.print_json({"id": deck.id, "name": deck.name})
    else:
        output.info(f"Created deck {deck.name}")


@deck_app.command("list")
def list_decks(as_json: JsonOption = False) -> None:
    """The deck tree with new, learning and due counts (daily limits applied)."""
    from flipdeck.store import stats

    with collection() as col:
        rows = stats.deck_tree(col)
    if as_json:
        output.print_json([_counts_json(r) for r in rows])
        return
    output.table(
        ["Deck", "New", "Learn", "Due", "Cards"],
        (
            [
                ("  " * r.depth + r.deck.parts[-1]) if _tty() else r.deck.name,
                r.new,
                r.learning,
                r.review,
                r.total_cards,
            ]
            for r in rows
        ),
    )


def _tty() -> bool:
    import sys

    return sys.stdout.isatty()


@deck_app.command("show")
def show(name: DeckName, as_json: JsonOption = False) -> None:
    """A deck's counts, preset and description."""
    from flipdeck.store import decks, presets, stats

    with collection() as col:
        deck = decks.find(col, name)
        row = next(r for r in stats.deck_tree(col) if r.deck.id == deck.id)
        preset = presets.load(col, deck.preset_id)
        children = [d.name for d in decks.subtree(col, deck) if d.id != deck.id]
    data = {
        **_counts_json(row),
        "description": deck.description,
        "preset": preset.name,
        "children": children,
    }
    if as_json:
        output.print_json(data)
        return
    output.table(["", ""], [[k, _cell(v)] for k, v in data.items() if k not in ("depth",)])


def _cell(value) -> str:
    """A table cell: lists joined with commas, nothing for ``None``."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


@deck_app.command("rename")
def rename(old: DeckName, new: DeckName) -> None:
    """Rename a deck; its children move with it."""
    from flipdeck.store import decks

    with collection() as col, col.transaction():
        deck = decks.rename(col, decks.find(col, old), new)
    output.info(f"Renamed to {deck.name}")


@deck_app.command("describe")
def describe(name: DeckName, text: Annotated[str, typer.Argument(help="The description.")]):
    """Set a deck's description."""
    from flipdeck.store import decks

    with collection() as col, col.transaction():
        decks.set_description(col, decks.find(col, name), text)
    output.info("Description saved.")


@deck_app.command("delete")
def delete(
    name: DeckName,
    yes: YesOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Only say what would go.")
    ] = False,
) -> None:
    """Delete a deck, its children and their cards (review history is kept)."""
    from flipdeck.store import decks

    with collection() as col:
        deck = decks.find(col, name)
        tree = decks.subtree(col, deck)
        marks = ",".join("?" * len(tree))
        count = col.conn.execute(
            f"SELECT count(*) FROM cards WHERE deleted = 0 AND deck_id IN ({marks})",
            [d.id for d in tree],
        ).fetchone()[0]
        summary = f"{len(tree)} deck(s) and {count} card(s)"
        if dry_run:
            output.info(f"Would delete {summary}.")
            return
        confirm(f"Delete {deck.name}: {summary}?", yes)
        with col.transaction():
            decks.delete(col, deck)
    output.info(f"Deleted {summary}.")


def _preset_json(preset, deck_names: list[str]) -> dict:
    from flipdeck.core.presets import format_steps

    return {
        "id": preset.id,
        "name": preset.name,
        "desired_retention": preset.desired_retention,
        "new_per_day": preset.new_per_day,
        "reviews_per_day": preset.reviews_per_day,
        "learning_steps": format_steps(preset.learning_steps),
        "relearning_steps": format_steps(preset.relearning_steps),
        "maximum_interval": preset.maximum_interval,
        "leech_threshold": preset.leech_threshold,
        "leech_action": preset.leech_action,
        "parameters": list(preset.parameters) if preset.parameters else None,
        "decks": deck_names,
    }


@deck_app.command("config")
def configure(
    name: Annotated[str | None, typer.Argument(help="Deck whose preset to show or change.")] = None,
    retention: Annotated[float | None, typer.Option(help="Desired retention, 0.50–0.99.")] = None,
    new_per_day: Annotated[int | None, typer.Option(help="New cards per day.")] = None,
    reviews_per_day: Annotated[int | None, typer.Option(help="Reviews per day.")] = None,
    learning_steps: Annotated[str | None, typer.Option(help="e.g. '1m 10m'.")] = None,
    relearning_steps: Annotated[str | None, typer.Option(help="e.g. '10m'.")] = None,
    max_interval: Annotated[int | None, typer.Option(help="Maximum interval in days.")] = None,
    leech_threshold: Annotated[int | None, typer.Option(help="Lapses that make a leech.")] = None,
    leech_action: Annotated[str | None, typer.Option(help="'tag' or 'suspend'.")] = None,
    preset: Annotated[str | None, typer.Option(help="Use this existing preset.")] = None,
    new_preset: Annotated[
        str | None, typer.Option(help="Copy the deck's preset under this name and use it.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show or change the preset (study options) of a deck; no deck lists every preset.

    Options change the preset itself, so every deck sharing it follows; the cards of those
    decks are re-scheduled from their history at once.
    """
    from dataclasses import replace

    from flipdeck.core.presets import parse_steps
    from flipdeck.store import decks, presets, reviews

    with collection() as col:
        if name is None:
            every = presets.all_presets(col)
            users = {p.id: [] for p in every}
            for d in decks.all_decks(col):
                users.setdefault(d.preset_id, []).append(d.name)
            data = [_preset_json(p, users.get(p.id, [])) for p in every]
            if as_json:
                output.print_json(data)
            else:
                output.table(
                    ["Preset", "Retention", "New/day", "Reviews/day", "Steps", "Decks"],
                    (
                        [
                            p["name"],
                            p["desired_retention"],
                            p["new_per_day"],
                            p["reviews_per_day"],
                            p["learning_steps"],
                            ", ".join(p["decks"]),
                        ]
                        for p in data
                    ),
                )
            return
        changes: dict = {}
        for key, value in (
            ("desired_retention", retention),
            ("new_per_day", new_per_day),
            ("reviews_per_day", reviews_per_day),
            ("maximum_interval", max_interval),
            ("leech_threshold", leech_threshold),
            ("leech_action", leech_action),
        ):
            if value is not None:
                changes[key] = value
        if learning_steps is not None:
            changes["learning_steps"] = parse_steps(learning_steps)
        if relearning_steps is not None:
            changes["relearning_steps"] = parse_steps(relearning_steps)
        with col.transaction():
            deck = decks.find(col, name)
            touched = False
            if preset is not None:
                chosen = presets.find(col, preset)
                if chosen.id != deck.preset_id:
                    decks.set_preset(col, deck, chosen.id)
                    touched = True
                deck = decks.get(col, deck.id)
            if new_preset is not None:
                current = presets.load(col, deck.preset_id)
                copy = presets.save(col, replace(current, id=col.new_id(), name=new_preset.strip()))
                decks.set_preset(col, deck, copy.id)
                deck = decks.get(col, deck.id)
                touched = True
            current = presets.load(col, deck.preset_id)
            if changes:
                updated = current.with_options(**changes)
                if updated != current:
                    presets.save(col, updated)
                    touched = True
            users = [d for d in decks.all_decks(col) if d.preset_id == deck.preset_id]
            if touched:
                reviews.refold_decks(col, [d.id for d in users] + [deck.id])
            result = _preset_json(presets.load(col, deck.preset_id), [d.name for d in users])
    if as_json:
        output.print_json(result)
    else:
        output.table(["", ""], [[k, _cell(v)] for k, v in result.items()])
        if touched and len(users) > 1:
            output.info(f"Preset {result['name']!r} is shared by {len(users)} decks.")

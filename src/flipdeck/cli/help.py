"""Provides `flipdeck help …`: reference pages that belong in the terminal."""

from __future__ import annotations

import typer

from flipdeck.cli import output

help_app = typer.Typer(help="Reference: exit codes and the search language.", no_args_is_help=True)

SEARCH_HELP = """\
Search terms (combine with spaces for AND, `or` for OR, parentheses, `-` to negate):

  dog              notes containing "dog" in any field (case-insensitive; * and _ wildcards)
  "a phrase"       notes containing the exact phrase
  front:dog        notes whose Front field is exactly "dog" (front:*dog* = contains)
  deck:Spanish     cards in Spanish and its children (deck:Lang* with wildcards)
  tag:verb         notes tagged verb or verb::anything; tag:none = untagged
  note:Basic       notes of a note type       card:2 / card:"Card 2"  cards of a template
  is:new is:learn is:review is:due is:suspended is:buried
  flag:1           cards with flag 1 (0 = no flag)
  prop:ivl>=10     interval of 10 days or more (also prop:due, prop:reps, prop:lapses,
                   prop:s for stability, prop:d for difficulty; operators < <= > >= = !=)
  prop:due<=3      review cards due within 3 days (overdue included)
  rated:7          answered in the last 7 days; rated:7:1 = answered Again
  added:3          added in the last 3 days
  nid:ID,ID        notes by id              cid:ID,ID  cards by id

Examples:  deck:Spanish is:due -tag:leech      (dog or cat) added:7
"""


@help_app.command("exit-codes")
def exit_codes() -> None:
    """The exit codes flipdeck uses."""
    output.table(["Code", "Meaning"], [[code, text] for code, text in output.EXIT_CODES.items()])


@help_app.command("search")
def search() -> None:
    """The search language of `card list`, `note list` and every QUERY argument."""
    typer.echo(SEARCH_HELP)

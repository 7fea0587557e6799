"""Provides `flipdeck due` and `flipdeck stats`: what is waiting, and how study is going."""

from __future__ import annotations

from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import collection
from flipdeck.cli.output import JsonOption


def due(
    deck: Annotated[str | None, typer.Argument(help="Only this deck and its children.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Cards due now per deck: new, learning and review, with daily limits applied."""
    from flipdeck.store import decks, stats

    with collection() as col:
        rows = stats.deck_tree(col, totals=False)
        if deck is not None:
            chosen = decks.find(col, deck)
            prefix = chosen.name.casefold() + decks.SEPARATOR
            rows = [
                r
                for r in rows
                if r.deck.id == chosen.id or r.deck.name.casefold().startswith(prefix)
            ]
    top = [r for r in rows if r.depth == min((x.depth for x in rows), default=0)]
    total = {k: sum(getattr(r, k) for r in top) for k in ("new", "learning", "review")}
    if as_json:
        output.print_json(
            {
                "total": total,
                "decks": [
                    {
                        "id": r.deck.id,
                        "name": r.deck.name,
                        "new": r.new,
                        "learning": r.learning,
                        "review": r.review,
                    }
                    for r in rows
                ],
            }
        )
        return
    output.table(
        ["Deck", "New", "Learn", "Due"],
        [[r.deck.name, r.new, r.learning, r.review] for r in rows]
        + [["Total", total["new"], total["learning"], total["review"]]],
    )


def _bar(count: int, peak: int, width: int = 30) -> str:
    if not count:
        return ""
    cells = count / peak * width
    full = int(cells)
    partial = " ▏▎▍▌▋▊▉"[int((cells - full) * 8)]
    return ("█" * full + (partial if partial != " " else "")) or "▏"


def stats(as_json: JsonOption = False) -> None:
    """Study statistics: today, streak, true retention, the next 30 days.

    Today's answers, time and again rate; the streak of days studied; true retention over
    the last 30 days; and the reviews coming due over the next 30 days, as a bar chart.
    """
    from dataclasses import asdict

    from flipdeck.store import stats as store_stats

    with collection() as col:
        report = store_stats.report(col)
    if as_json:
        output.print_json(asdict(report))
        return
    minutes, seconds = divmod(round(report.today_time_ms / 1000), 60)
    again = f" · again {report.today_again_rate:.1%}" if report.today_again_rate is not None else ""
    lines = [
        f"Today: {report.today_reviews} answer(s), {report.today_new} new, "
        f"in {minutes}m {seconds:02d}s{again}",
        f"Streak: {report.streak_days} day(s)",
        (
            f"True retention (30 days): {report.retention_30d:.1%} of "
            f"{report.retention_30d_reviews} review(s)"
            if report.retention_30d is not None
            else "True retention (30 days): no reviews yet"
        ),
        f"Collection: {report.total_cards} card(s) in {report.total_notes} note(s); "
        f"{report.learning_today} learning today",
        "",
        "Reviews due, next 30 days:",
    ]
    peak = max(report.future_due) or 1
    for day, count in enumerate(report.future_due):
        label = "today" if day == 0 else f"+{day}d"
        lines.append(f"{label:>6} {_bar(count, peak):<31}{count}")
    output.console().print("\n".join(lines), markup=False, highlight=False)

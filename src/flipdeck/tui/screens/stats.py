"""Provides :class:`StatsScreen`: a year of answers as a calendar heatmap, answers per day,
the forecast of reviews due, true retention and the cards in each state. The figures are read
in a thread worker on its own connection (a few hundred ms on 100k cards), so the screen
draws at once and fills in."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.widgets import Static

from flipdeck.tui import jobs
from flipdeck.tui.messages import CollectionReplaced
from flipdeck.tui.screens.base import FlipdeckScreen
from flipdeck.tui.widgets.stats.plots import BarChart, Heatmap, MeterList

_STATE_COLOURS = {
    "new": "color(68)",
    "learning": "color(167)",
    "review": "color(71)",
    "relearning": "color(173)",
    "suspended": "color(178)",
    "buried": "color(244)",
}


class StatsScreen(FlipdeckScreen):
    """The statistics of the whole collection."""

    MODE = "stats"
    HELP = (
        "Statistics of the whole collection. True retention is the share of review answers "
        "that were not Again (learning steps excluded, as Anki counts it). The forecast counts "
        "the reviews due on each of the next 30 days."
    )
    BINDINGS = [Binding("f5,ctrl+r", "reload", "Refresh", id="stats.refresh")]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="stats"):
            yield Static("Reading the review log…", id="stats-summary")
            yield Heatmap(id="stats-heatmap")
            with Grid(id="stats-charts"):
                yield BarChart("Answers per day, last 30 days", id="stats-daily")
                yield BarChart("Reviews due, next 30 days", colour="color(179)", id="stats-due")
                yield MeterList("True retention", id="stats-retention")
                yield MeterList("Cards by state", id="stats-states")

    def on_screen_resume(self) -> None:
        """Shown (the first time too, and back from another screen): read afresh."""
        self.action_reload()

    def on_collection_replaced(self, _message: CollectionReplaced) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.load(self.app.path, self.app.now)

    @work(thread=True, exclusive=True, group="stats")
    def load(self, path, now) -> None:
        data = jobs.stats(path, now)
        self.app.call_from_thread(self.draw, data)

    def draw(self, data: jobs.StatsData) -> None:
        """Fill every plot from ``data``."""
        from datetime import date

        report = data.report
        retention = (
            f"{report.retention_30d:.1%} over 30 days" if report.retention_30d is not None else "–"
        )
        self.query_one("#stats-summary", Static).update(
            f"Today: {report.today_reviews} answer(s), {report.today_new} new · "
            f"streak {report.streak_days} day(s) · retention {retention} · "
            f"{report.total_cards} card(s) in {report.total_notes} note(s)"
        )
        days = [(date.fromordinal(d.day), d.count) for d in data.days]
        self.query_one(Heatmap).plot(days)
        recent = days[-30:]
        self.query_one("#stats-daily", BarChart).plot(
            [c for _d, c in recent],
            (recent[0][0].strftime("%d %b"), "today") if recent else ("", ""),
        )
        self.query_one("#stats-due", BarChart).plot(report.future_due, ("today", "+30d"))
        self.query_one("#stats-retention", MeterList).plot(
            [
                (
                    _span(r.days),
                    round((r.rate or 0) * 1000),
                    f"{r.rate:.1%} of {r.total}" if r.rate is not None else "no reviews",
                    "color(71)",
                )
                for r in data.retention
            ]
        )
        total = sum(data.states.values()) or 1
        self.query_one("#stats-states", MeterList).plot(
            [
                (name, count, f"{count} ({count / total:.0%})", _STATE_COLOURS[name])
                for name, count in data.states.items()
            ]
        )


def _span(days: int) -> str:
    return {1: "today", 7: "7 days", 30: "30 days", 365: "a year"}.get(days, f"{days} days")

"""Provides the statistics screen's plots, drawn with block characters in whatever width the
terminal gives: :class:`Heatmap` (a year of answers, a column per week, GitHub-style),
:class:`BarChart` (a value per day, bars one or more rows tall) and :class:`MeterList`
(labelled horizontal bars). Colours are xterm-256 palette entries, so they look the same in
a 256-colour terminal as in a truecolor one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from rich.text import Text
from textual.widget import Widget

HEAT = ("color(238)", "color(22)", "color(28)", "color(34)", "color(40)")
"""No answers, then four levels of green."""
BLOCKS = " ▁▂▃▄▅▆▇█"


def heat_levels(counts: Sequence[int]) -> list[int]:
    """A level 0–4 for each count: 0 for none, else by quartile of the days with answers."""
    busy = sorted(c for c in counts if c)
    if not busy:
        return [0] * len(counts)
    cuts = [busy[min(len(busy) - 1, len(busy) * q // 4)] for q in (1, 2, 3)]
    return [0 if c == 0 else 1 + sum(c > cut for cut in cuts) for c in counts]


class Heatmap(Widget):
    """Answers per day for the year ending today: rows are weekdays, columns weeks."""

    DEFAULT_CSS = "Heatmap { height: 9; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.days: list[tuple[date, int]] = []

    def plot(self, days: Sequence[tuple[date, int]]) -> None:
        """Draw ``(date, answers)`` pairs, oldest first."""
        self.days = list(days)
        self.refresh()

    def render(self) -> Text:
        if not self.days:
            return Text("No answers yet.", style="dim")
        width = max(10, self.size.width - 4)
        last = self.days[-1][0]
        weeks = min(53, width // 2 if width >= 2 * 53 else width)
        cell = "■ " if width >= 2 * weeks and width >= 2 * 53 else "■"
        first = last - timedelta(days=last.weekday() + 7 * (weeks - 1))
        counts = {d: c for d, c in self.days}
        shown = [counts.get(first + timedelta(days=i), 0) for i in range(weeks * 7)]
        levels = heat_levels(shown)
        labels = [" "] * (weeks * len(cell) + 4)
        month = None
        for week in range(weeks):
            start = first + timedelta(days=7 * week)
            if start.month != month:  # a month's name over its first week, if it fits
                month = start.month
                at = week * len(cell)
                if all(c == " " for c in labels[max(0, at - 1) : at + 3]):
                    labels[at : at + 3] = start.strftime("%b")
        text = Text("    " + "".join(labels).rstrip() + "\n")
        for weekday in range(7):
            text.append(("Mon ", "    ", "Wed ", "    ", "Fri ", "    ", "Sun ")[weekday])
            for week in range(weeks):
                day = first + timedelta(days=7 * week + weekday)
                if day > last:
                    text.append(" " * len(cell))
                else:
                    text.append(cell, style=HEAT[levels[week * 7 + weekday]])
            text.append("\n")
        text.append("    less ", style="dim")
        for style in HEAT:
            text.append("■", style=style)
        total = sum(shown)
        text.append(f" more · {total} answer(s) in {weeks} weeks", style="dim")
        return text


class BarChart(Widget):
    """Bars ``rows`` tall for a series of values, with a caption and the peak value."""

    DEFAULT_CSS = "BarChart { height: 7; }"

    def __init__(self, caption: str, *, colour: str = "color(68)", id: str | None = None):
        super().__init__(id=id)
        self.caption = caption
        self.colour = colour
        self.values: list[int] = []
        self.axis = ("", "")

    def plot(self, values: Sequence[int], axis: tuple[str, str] = ("", "")) -> None:
        """Draw ``values`` (left to right) with ``axis`` labels under the first and last."""
        self.values = list(values)
        self.axis = axis
        self.refresh()

    def render(self) -> Text:
        rows = max(1, self.size.height - 2)
        width = max(1, self.size.width)
        values = _fit(self.values, width)
        peak = max(values, default=0)
        text = Text(f"{self.caption} (peak {max(self.values, default=0)})\n", style="bold")
        for row in range(rows, 0, -1):
            for value in values:
                eighths = round(value / peak * rows * 8) if peak else 0
                level = max(0, min(8, eighths - (row - 1) * 8))
                text.append(BLOCKS[level], style=self.colour)
            text.append("\n")
        left, right = self.axis
        gap = max(1, len(values) - len(left) - len(right))
        text.append(left + " " * gap + right, style="dim")
        return text


def _fit(values: Sequence[int], width: int) -> list[int]:
    """``values`` squeezed into ``width`` columns (sums of neighbours) or shown as they are."""
    if len(values) <= width:
        return list(values)
    size = -(-len(values) // width)
    return [sum(values[i : i + size]) for i in range(0, len(values), size)]


class MeterList(Widget):
    """Labelled horizontal bars, each with its value (and a share of the total)."""

    DEFAULT_CSS = "MeterList { height: auto; }"

    def __init__(self, caption: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.caption = caption
        self.items: list[tuple[str, int, str, str]] = []

    def plot(self, items: Sequence[tuple[str, int, str, str]]) -> None:
        """Draw ``(label, value, shown as, colour)`` rows."""
        self.items = list(items)
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.items) + 1

    def render(self) -> Text:
        text = Text(self.caption + "\n", style="bold")
        label_width = max((len(label) for label, *_ in self.items), default=0)
        shown_width = max((len(shown) for _l, _v, shown, _c in self.items), default=0)
        room = max(4, self.size.width - label_width - shown_width - 3)
        peak = max((value for _l, value, *_ in self.items), default=0)
        for label, value, shown, colour in self.items:
            bar = round(value / peak * room) if peak else 0
            text.append(label.ljust(label_width) + " ")
            text.append("█" * bar, style=colour)
            text.append(" " * (room - bar) + " " + shown.rjust(shown_width) + "\n")
        return text

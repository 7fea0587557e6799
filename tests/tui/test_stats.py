"""The statistics screen plots what the store reports: the heatmap and daily chart from
`history.daily_answers`, the forecast from `stats.report`, retention and state counts from
`history`."""

from __future__ import annotations

import pytest

from flipdeck.store import history, reviews, search
from flipdeck.store import stats as store_stats
from flipdeck.store.collection import Collection
from flipdeck.tui.screens.stats import StatsScreen
from flipdeck.tui.widgets.stats.plots import BarChart, Heatmap, MeterList, heat_levels
from tests.tui.conftest import settle

pytestmark = pytest.mark.anyio


def _answer_history(path, clock) -> None:
    """Answer every card a few times over the past days (clock moved, then put back)."""
    start = clock.ms
    clock.advance(days=-20)
    with Collection.open(path, now=clock) as col:
        ids = search.find_cards(col, "", now=col.now())
        for day in range(20):
            with col.transaction():
                for card_id in ids[: 1 + day % 4]:
                    reviews.answer(col, card_id, 3 if day % 3 else 1, at=clock(), duration_ms=900)
            clock.advance(days=1)
    clock.ms = start


async def test_the_plots_show_the_store_figures(make, collection_path, clock, store):
    _answer_history(collection_path, clock)
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StatsScreen)
        expected = history.daily_answers(store, 365)
        assert [c for _d, c in screen.query_one(Heatmap).days] == [d.count for d in expected]
        assert screen.query_one("#stats-daily", BarChart).values == [
            d.count for d in expected[-30:]
        ]
        report = store_stats.report(store)
        assert screen.query_one("#stats-due", BarChart).values == report.future_due
        meters = screen.query_one("#stats-states", MeterList).items
        states = {label: value for label, value, *_ in meters}
        assert states == history.state_counts(store)
        retention = screen.query_one("#stats-retention", MeterList).items
        month = history.retention(store, 30)
        assert any(f"of {month.total}" in shown for _l, _v, shown, _c in retention)
    assert sum(d.count for d in expected) == sum(1 + day % 4 for day in range(20))


async def test_an_empty_collection_draws_without_errors(tmp_path, clock):
    from flipdeck.tui import make_app

    app = make_app(tmp_path / "empty.db", now=clock, theme="flipdeck-dark")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await settle(pilot)
        assert app.screen.query_one(Heatmap).days  # a year of zeros
        assert all(c == 0 for _d, c in app.screen.query_one(Heatmap).days)


def test_heat_levels_split_busy_days_into_quartiles():
    assert heat_levels([0, 0, 0]) == [0, 0, 0]
    assert heat_levels([0, 1, 2, 3, 4, 100]) == [0, 1, 1, 2, 3, 4]

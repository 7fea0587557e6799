"""Provides what `flipdeck due`, `deck list` and `stats` report: due counts per deck with
limits applied, today's work, the streak, true retention and the coming workload.

Counts come from the derived ``queue``/``due`` columns through one covering index, which is
what keeps `flipdeck due` fast on a 100k-card collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flipdeck.store import config, decks, presets
from flipdeck.store.decks import SEPARATOR, Deck
from flipdeck.store.queue import studied_today


@dataclass
class DeckCounts:
    """One deck's row in the deck tree; counts include its children, limits applied."""

    deck: Deck
    depth: int
    new: int = 0
    learning: int = 0
    review: int = 0
    total_cards: int = 0
    children: list[DeckCounts] = field(default_factory=list)


def deck_tree(col, now: int | None = None, *, totals: bool = True) -> list[DeckCounts]:
    """Every deck in tree order, with new/learning/review counts as Anki's deck list shows
    (and each deck's card count, unless ``totals`` is false: that one reads every card)."""
    now = col.now() if now is None else now
    calendar = config.calendar(col)
    day = calendar.day(now)
    cutoff = calendar.start(day + 1)
    every = decks.all_decks(col)
    raw: dict[str, list[int]] = {d.id: [0, 0, 0, 0] for d in every}
    for queue, bound in ((0, None), (1, cutoff), (2, cutoff)):
        sql = "SELECT deck_id, count(*) FROM cards WHERE queue = ? AND buried_until <= ?"
        params: tuple = (queue, now)
        if bound is not None:
            sql += " AND due < ?"
            params += (bound,)
        for deck_id, count in col.conn.execute(sql + " GROUP BY deck_id", params):
            if deck_id in raw:
                raw[deck_id][queue] = count
    if totals:
        for deck_id, count in col.conn.execute(
            "SELECT deck_id, count(*) FROM cards WHERE queue >= -1 GROUP BY deck_id"
        ):
            if deck_id in raw:
                raw[deck_id][3] = count
    new_done, rev_done = studied_today(col, list(raw), calendar.start(day)) if raw else ({}, {})
    rows = {d.id: DeckCounts(d, d.name.count(SEPARATOR)) for d in every}
    by_name = {d.name.casefold(): rows[d.id] for d in every}
    roots = []
    for d in every:
        parent = by_name.get(d.parent_name.casefold()) if d.parent_name else None
        (parent.children if parent else roots).append(rows[d.id])

    def settle(node: DeckCounts) -> tuple[int, int]:
        """Fill ``node``'s counts from its own cards and its settled children; returns the
        new cards and reviews studied today in its subtree."""
        new, learning, review, total = raw[node.deck.id]
        done_new, done_rev = new_done.get(node.deck.id, 0), rev_done.get(node.deck.id, 0)
        for child in node.children:
            child_new, child_rev = settle(child)
            done_new, done_rev = done_new + child_new, done_rev + child_rev
            new, review = new + child.new, review + child.review
            learning, total = learning + child.learning, total + child.total_cards
        preset = presets.load(col, node.deck.preset_id)
        node.new = max(0, min(new, preset.new_per_day - done_new))
        node.review = max(0, min(review, preset.reviews_per_day - done_rev))
        node.learning, node.total_cards = learning, total
        return done_new, done_rev

    for root in roots:
        settle(root)
    ordered: list[DeckCounts] = []

    def walk(node: DeckCounts) -> None:
        ordered.append(node)
        for child in node.children:
            walk(child)

    for root in roots:
        walk(root)
    return ordered


@dataclass(frozen=True)
class Report:
    """The figures `flipdeck stats` prints."""

    today_reviews: int
    today_new: int
    today_time_ms: int
    today_again_rate: float | None
    streak_days: int
    retention_30d: float | None
    retention_30d_reviews: int
    future_due: list[int]
    learning_today: int
    total_cards: int
    total_notes: int


def report(col, now: int | None = None, *, days_ahead: int = 30) -> Report:
    """Today's work, the streak, true retention over 30 days, and the next 30 days' load."""
    now = col.now() if now is None else now
    calendar = config.calendar(col)
    today = calendar.day(now)
    start = calendar.start(today)
    conn = col.conn
    reviews, time_ms, again = conn.execute(
        "SELECT count(*), coalesce(sum(duration_ms), 0), coalesce(sum(rating = 1), 0)"
        " FROM reviews WHERE reviewed_at >= ? AND rating > 0",
        (start,),
    ).fetchone()
    new_today = sum(studied_today(col, [d.id for d in decks.all_decks(col)], start)[0].values())
    # streak: consecutive learning days with at least one answer, ending today (or yesterday,
    # if nothing has been studied yet today)
    streak, day = 0, today if reviews else today - 1
    while True:
        lo, hi = calendar.start(day), calendar.start(day + 1)
        if not conn.execute(
            "SELECT 1 FROM reviews WHERE reviewed_at >= ? AND reviewed_at < ? AND rating > 0"
            " LIMIT 1",
            (lo, hi),
        ).fetchone():
            break
        streak += 1
        day -= 1
    passed, total = conn.execute(
        "SELECT coalesce(sum(rating > 1), 0), count(*) FROM reviews"
        " WHERE kind = 'review' AND rating > 0 AND reviewed_at >= ?",
        (calendar.start(today - 29),),
    ).fetchone()
    future = [0] * days_ahead
    for due, count in conn.execute(
        "SELECT due, count(*) FROM cards WHERE queue = 2 AND due < ? GROUP BY due",
        (calendar.start(today + days_ahead),),
    ):
        index = max(0, calendar.day(due + 1000) - today) if due > start else 0
        if index < days_ahead:
            future[index] += count
    learning_today = conn.execute(
        "SELECT count(*) FROM cards WHERE queue = 1 AND due < ?", (calendar.start(today + 1),)
    ).fetchone()[0]
    cards_total = conn.execute("SELECT count(*) FROM cards WHERE queue >= -1").fetchone()[0]
    notes_total = conn.execute("SELECT count(*) FROM notes WHERE deleted = 0").fetchone()[0]
    return Report(
        today_reviews=reviews,
        today_new=new_today,
        today_time_ms=time_ms,
        today_again_rate=(again / reviews) if reviews else None,
        streak_days=streak,
        retention_30d=(passed / total) if total else None,
        retention_30d_reviews=total,
        future_due=future,
        learning_today=learning_today,
        total_cards=cards_total,
        total_notes=notes_total,
    )

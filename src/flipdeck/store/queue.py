"""Provides the study queue: which card comes next, in Anki's order and within daily limits.

Order: learning cards whose step is over, then reviews due today, then new cards; when nothing
else is left, learning cards due within the learn-ahead window (20 minutes, Anki's default).
Limits: a deck's preset caps the new cards and reviews studied per learning day; a card is
admitted only while the selected deck and every deck between it and the card's deck still have
room, so a child deck's limit is honoured inside its parent's.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

from flipdeck.core.scheduling import LEARNING, NEW, RELEARNING, REVIEW
from flipdeck.store import config, decks, presets
from flipdeck.store.decks import SEPARATOR, Deck

LEARN_AHEAD_MS = 20 * 60 * 1000


@dataclass(frozen=True)
class Counts:
    """Cards left to study in a session."""

    new: int
    learning: int
    review: int

    @property
    def total(self) -> int:
        """All of them."""
        return self.new + self.learning + self.review


def studied_today(col, deck_ids: list[str], day_start: int) -> tuple[dict, dict]:
    """Per deck, the new cards introduced and the reviews answered since ``day_start``.

    A card counts as new today when it was answered in learning today and never answered
    before today. ``CROSS JOIN`` keeps SQLite starting from today's reviews (a few hundred
    rows) rather than from every card of the decks.
    """
    marks = ",".join("?" * len(deck_ids))
    new = dict(
        col.conn.execute(
            "SELECT c.deck_id, count(DISTINCT r.card_id) FROM reviews r CROSS JOIN cards c"
            " ON c.id = r.card_id WHERE r.reviewed_at >= ? AND r.kind = 'learn'"
            f" AND r.rating > 0 AND c.deck_id IN ({marks}) AND NOT EXISTS (SELECT 1 FROM"
            " reviews p WHERE p.card_id = r.card_id AND p.reviewed_at < ? AND p.rating > 0)"
            " GROUP BY c.deck_id",
            (day_start, *deck_ids, day_start),
        )
    )
    reviewed = dict(
        col.conn.execute(
            "SELECT c.deck_id, count(*) FROM reviews r CROSS JOIN cards c ON c.id = r.card_id"
            f" WHERE r.reviewed_at >= ? AND r.kind = 'review' AND c.deck_id IN ({marks})"
            " GROUP BY c.deck_id",
            (day_start, *deck_ids),
        )
    )
    return new, reviewed


class Limits:
    """Remaining new and review allowances for each deck of a study tree."""

    def __init__(self, col, tree: list[Deck], roots: list[Deck], day_start: int) -> None:
        ids = [d.id for d in tree]
        new_done, rev_done = studied_today(col, ids, day_start) if ids else ({}, {})
        names = {d.id: d.name.casefold() for d in tree}
        self.new: dict[str, int] = {}
        self.review: dict[str, int] = {}
        for deck in tree:
            prefix = names[deck.id] + SEPARATOR
            members = [i for i in ids if i == deck.id or names[i].startswith(prefix)]
            preset = presets.load(col, deck.preset_id)
            self.new[deck.id] = preset.new_per_day - sum(new_done.get(i, 0) for i in members)
            self.review[deck.id] = preset.reviews_per_day - sum(rev_done.get(i, 0) for i in members)
        root_names = [d.name.casefold() for d in roots]
        self.path: dict[str, list[str]] = {}
        by_name = {names[i]: i for i in ids}
        for deck in tree:
            parts = names[deck.id].split(SEPARATOR)
            chain = []
            for depth in range(1, len(parts) + 1):
                name = SEPARATOR.join(parts[:depth])
                if name in by_name and any(
                    name == r or name.startswith(r + SEPARATOR) for r in root_names
                ):
                    chain.append(by_name[name])
            self.path[deck.id] = chain

    def admit(self, allowance: dict[str, int], deck_id: str) -> bool:
        """Take one from every deck on the card's path, if all have room."""
        chain = self.path.get(deck_id, [deck_id])
        if any(allowance.get(i, 0) <= 0 for i in chain):
            return False
        for i in chain:
            allowance[i] -= 1
        return True


class Queue:
    """The cards to study now in a deck and its children (or every deck)."""

    def __init__(self, col, deck: Deck | None = None, *, now: int | None = None) -> None:
        self.col = col
        self.deck = deck
        now = col.now() if now is None else now
        self.calendar = config.calendar(col)
        every = decks.all_decks(col)
        if deck is None:
            self.tree = every
            roots = [d for d in every if SEPARATOR not in d.name]
        else:
            self.tree = decks.subtree(col, deck)
            roots = [deck]
        self._roots = roots
        self.rebuild(now)

    def rebuild(self, now: int | None = None) -> None:
        """Read the queue afresh (after an undo, or when the day rolls over)."""
        now = self.col.now() if now is None else now
        self.day = self.calendar.day(now)
        self.cutoff = self.calendar.start(self.day + 1)
        self.limits = Limits(self.col, self.tree, self._roots, self.calendar.start(self.day))
        ids = [d.id for d in self.tree]
        marks = ",".join("?" * len(ids))
        conn = self.col.conn
        self.learning: list[tuple[int, str]] = conn.execute(
            f"SELECT due, id FROM cards WHERE queue = 1 AND deck_id IN ({marks})"
            " AND due < ? AND buried_until <= ?",
            (*ids, self.cutoff, now),
        ).fetchall()
        heapq.heapify(self.learning)
        self.reviews: deque[str] = deque()
        for cid, deck_id in conn.execute(
            f"SELECT id, deck_id FROM cards WHERE queue = 2 AND deck_id IN ({marks})"
            " AND due < ? AND buried_until <= ? ORDER BY due, id",
            (*ids, self.cutoff, now),
        ):
            if self.limits.admit(self.limits.review, deck_id):
                self.reviews.append(cid)
        self.new: deque[str] = deque()
        top = sum(max(self.limits.new.get(r, 0), 0) for r in self._root_ids())
        if top > 0:
            for cid, deck_id in conn.execute(
                f"SELECT id, deck_id FROM cards WHERE queue = 0 AND deck_id IN ({marks})"
                " AND buried_until <= ? ORDER BY due, note_id, ord",
                (*ids, now),
            ):
                if self.limits.admit(self.limits.new, deck_id):
                    self.new.append(cid)
                    if len(self.new) >= top:
                        break

    def _root_ids(self) -> list[str]:
        return [chain[0] for chain in self.limits.path.values() if len(chain) == 1]

    def counts(self) -> Counts:
        """What is left: new, learning (due today) and review cards."""
        return Counts(len(self.new), len(self.learning), len(self.reviews))

    def next(self, now: int | None = None) -> str | None:
        """The card to show now, or ``None`` when nothing is due (learning may wait)."""
        now = self.col.now() if now is None else now
        if self.learning and self.learning[0][0] <= now:
            return self.learning[0][1]
        if self.reviews:
            return self.reviews[0]
        if self.new:
            return self.new[0]
        if self.learning and self.learning[0][0] <= now + LEARN_AHEAD_MS:
            return self.learning[0][1]
        return None

    def waiting(self) -> int | None:
        """When the next learning card comes due, if one does later today."""
        return self.learning[0][0] if self.learning else None

    def _remove(self, card_id: str) -> None:
        # the card answered is almost always at a head: check those first (O(1))
        if self.reviews and self.reviews[0] == card_id:
            self.reviews.popleft()
        elif self.new and self.new[0] == card_id:
            self.new.popleft()
        elif self.learning and self.learning[0][1] == card_id:
            heapq.heappop(self.learning)
        elif card_id in self.reviews:
            self.reviews.remove(card_id)
        elif card_id in self.new:
            self.new.remove(card_id)
        else:
            before = len(self.learning)
            self.learning = [item for item in self.learning if item[1] != card_id]
            if len(self.learning) != before:
                heapq.heapify(self.learning)

    def answered(self, card_id: str, answer) -> None:
        """Update the queue after ``answer`` (a ``reviews.Answer``) to ``card_id``."""
        self._remove(card_id)
        after = answer.after
        learning = after.state in (LEARNING, RELEARNING) and after.due is not None
        if learning and after.due < self.cutoff:
            heapq.heappush(self.learning, (after.due, card_id))
        for sibling in answer.buried:
            self._remove(sibling)

    def push_front(self, card_id: str, state) -> None:
        """Rebuild, then show ``card_id`` (whose state is ``state``) next: after an undo."""
        self.rebuild()
        self._remove(card_id)
        if state.state == NEW:
            self.new.appendleft(card_id)
        elif state.state == REVIEW:
            self.reviews.appendleft(card_id)
        else:
            heapq.heappush(self.learning, (min(state.due or 0, self.col.now()), card_id))

    def drop(self, card_id: str) -> None:
        """Take a card out of the session (buried, suspended, or deleted meanwhile)."""
        self._remove(card_id)

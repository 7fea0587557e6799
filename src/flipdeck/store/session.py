"""Provides :class:`StudySession`: one sitting of study, shared by `flipdeck study` and the TUI.

Every action commits on its own, so an interrupted session keeps every answer already given;
the undo stack lets the user take back answers and actions, most recent first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flipdeck.core.errors import FlipdeckError
from flipdeck.core.scheduling import CardState, interval_label
from flipdeck.store import cards, config, presets, reviews
from flipdeck.store.decks import Deck
from flipdeck.store.queue import Counts, Queue

MAX_ANSWER_MS = 60_000


@dataclass
class Summary:
    """What a session did."""

    answered: int = 0
    ratings: Counter = field(default_factory=Counter)
    time_ms: int = 0
    buried: int = 0
    suspended: int = 0

    @property
    def again_rate(self) -> float | None:
        """The share of answers that were Again."""
        return self.ratings[1] / self.answered if self.answered else None


@dataclass
class _Undo:
    kind: str
    card_id: str
    answer: reviews.Answer | None = None
    previous: int = 0


class StudySession:
    """Study a deck (and its children), or every deck."""

    def __init__(self, col, deck: Deck | None = None) -> None:
        self.col = col
        self.deck = deck
        self.queue = Queue(col, deck)
        self.summary = Summary()
        self.current: cards.CardInfo | None = None
        self._shown_at = 0
        self._undo: list[_Undo] = []

    def counts(self) -> Counts:
        """Cards left: new, learning, review."""
        return self.queue.counts()

    def next_card(self) -> cards.CardInfo | None:
        """The card to show now (also remembered as :attr:`current`), or ``None``."""
        now = self.col.now()
        if self.col.now() >= self.queue.cutoff:
            self.queue.rebuild(now)  # the learning day rolled over mid-session
        while True:
            card_id = self.queue.next(now)
            if card_id is None:
                self.current = None
                return None
            try:
                self.current = cards.info(self.col, card_id)
            except FlipdeckError:  # deleted meanwhile (another command, a sync)
                self.queue.drop(card_id)
                continue
            self._shown_at = now
            return self.current

    def choices(self) -> dict[int, tuple[str, CardState]]:
        """For each rating 1–4, the interval label and state answering it would give."""
        card = self._need_card()
        row = reviews.card_row(self.col, card.id)
        preview = presets.scheduler(self.col, row.preset_id).preview(
            card.id, row.state, self.col.now()
        )
        now = self.col.now()
        return {rating: (interval_label(state, now), state) for rating, state in preview.items()}

    def answer(self, rating: int) -> reviews.Answer:
        """Answer the current card (one transaction, committed before this returns)."""
        card = self._need_card()
        now = self.col.now()
        duration = max(0, min(now - self._shown_at, MAX_ANSWER_MS))
        with self.col.transaction():
            done = reviews.answer(self.col, card.id, rating, at=now, duration_ms=duration)
        self.queue.answered(card.id, done)
        self._undo.append(_Undo("answer", card.id, answer=done))
        self.summary.answered += 1
        self.summary.ratings[rating] += 1
        self.summary.time_ms += duration
        self.current = None
        return done

    def bury(self) -> None:
        """Bury the current card until tomorrow."""
        card = self._need_card()
        with self.col.transaction():
            cards.bury(self.col, [card.id], config.calendar(self.col).next_cutoff(self.col.now()))
        self._undo.append(_Undo("bury", card.id, previous=card.buried_until))
        self.queue.drop(card.id)
        self.summary.buried += 1
        self.current = None

    def suspend(self) -> None:
        """Suspend the current card."""
        card = self._need_card()
        with self.col.transaction():
            cards.set_suspended(self.col, [card.id], True)
        self._undo.append(_Undo("suspend", card.id))
        self.queue.drop(card.id)
        self.summary.suspended += 1
        self.current = None

    def flag(self, number: int) -> None:
        """Flag the current card (0 removes the flag); it stays current."""
        card = self._need_card()
        with self.col.transaction():
            cards.set_flag(self.col, [card.id], number)
        self._undo.append(_Undo("flag", card.id, previous=card.flag))
        self.current = cards.info(self.col, card.id)

    def undo(self) -> str | None:
        """Take back the latest answer or action; returns what was undone, or ``None``."""
        if not self._undo:
            return None
        step = self._undo.pop()
        with self.col.transaction():
            if step.kind == "answer":
                assert step.answer is not None
                reviews.undo(self.col, step.answer)
                self.summary.answered -= 1
                self.summary.ratings[step.answer.rating] -= 1
            elif step.kind == "bury":
                self.col.write("card", step.card_id, {"buried_until": step.previous})
                self.summary.buried -= 1
            elif step.kind == "suspend":
                cards.set_suspended(self.col, [step.card_id], False)
                self.summary.suspended -= 1
            elif step.kind == "flag":
                cards.set_flag(self.col, [step.card_id], step.previous)
        if step.kind == "answer":
            assert step.answer is not None
            self.queue.push_front(step.card_id, step.answer.before)
        elif step.kind in ("bury", "suspend"):
            self.queue.push_front(step.card_id, cards.info(self.col, step.card_id).state)
        self.current = None
        return step.kind

    def refresh_current(self) -> None:
        """Reload the current card (after its note was edited)."""
        if self.current is not None:
            self.current = cards.info(self.col, self.current.id)

    def _need_card(self) -> cards.CardInfo:
        if self.current is None:
            raise FlipdeckError("no card is being studied")
        return self.current

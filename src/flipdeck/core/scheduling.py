"""Provides FSRS scheduling as a pure, deterministic fold over a card's review events.

A card's scheduling state is never stored as a fact: it is what you get by folding its events,
ordered by ``(reviewed_at, id)``, through py-fsrs with its preset's options. Every device that
holds the same events therefore computes the same state, whatever order they arrived in.

Two details make the fold match Anki and stay deterministic:

* **Learning days, not 24-hour periods.** FSRS's memory model only sees whole days between
  answers. Anki counts learning days (rolling over at 04:00); py-fsrs counts 24-hour periods.
  So py-fsrs is fed a synthetic timeline: the answer's learning day as a date at midnight UTC,
  plus one microsecond per earlier answer to keep the order. Stability and difficulty then equal
  Anki's (``anki-formats.md`` §7.4). Due times are taken from the real time for learning steps
  and from the learning day for review intervals.
* **Seeded fuzz.** py-fsrs fuzzes with the global ``random``; here fuzz is off in py-fsrs and
  the same band is drawn from a digest of (card id, answer count).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from flipdeck.core.days import Calendar
from flipdeck.core.presets import Preset

if TYPE_CHECKING:
    from collections.abc import Iterable

NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3
STATE_NAMES = {NEW: "new", LEARNING: "learning", REVIEW: "review", RELEARNING: "relearning"}
AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4
RATING_NAMES = {AGAIN: "again", HARD: "hard", GOOD: "good", EASY: "easy"}
RATINGS = {name: value for value, name in RATING_NAMES.items()}
KIND_FOR_STATE = {NEW: "learn", LEARNING: "learn", REVIEW: "review", RELEARNING: "relearn"}
MANUAL = "manual"

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_FUZZ_RANGES = ((2.5, 7.0, 0.15), (7.0, 20.0, 0.10), (20.0, float("inf"), 0.05))


@dataclass(frozen=True)
class Event:
    """One entry of a card's review log.

    ``rating`` is 1–4 for an answer and 0 for a manual event, whose ``data`` says what it did:
    ``{"action": "forget"}`` or ``{"action": "set_due", "day": <learning day>}``.
    """

    id: str
    reviewed_at: int
    rating: int
    kind: str = ""
    data: str | None = None


@dataclass(frozen=True)
class CardState:
    """The derived scheduling state of one card (the cache the store keeps per card).

    ``due`` is epoch ms: the step's end for learning cards, the start of the due learning day
    for review cards, ``None`` for new cards. ``last_day`` is the learning day of the answer
    that last set the memory state; ``reps`` counts answers, ``lapses`` answers of Again on a
    review card. ``last_review`` is the time of the latest event folded.
    """

    state: int = NEW
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: int | None = None
    interval: int = 0
    reps: int = 0
    lapses: int = 0
    last_day: int | None = None
    last_review: int | None = None


_MAX_DAY = 3_652_000  # the last learning day a date can name (year 9999)


def _manual_data(raw: str | None) -> dict:
    """A manual event's data as a dict; anything unreadable is an empty (unknown) action."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def synthetic_time(day: int, offset: int) -> datetime:
    """The instant py-fsrs is given for an answer on learning day ``day`` (see module doc)."""
    return _EPOCH + timedelta(days=day - 1, microseconds=offset)


def fuzz_seed(card_id: str, reps: int) -> int:
    """A seed that is the same on every device and in every process for one card and answer."""
    return int.from_bytes(hashlib.sha256(f"{card_id}:{reps}".encode()).digest()[:8], "big")


def fuzzed_interval(days: int, card_id: str, reps: int, maximum: int) -> int:
    """py-fsrs's fuzz band for ``days``, drawn from a generator seeded per card and answer."""
    if days < 2.5:
        return days
    delta = 1.0
    for start, end, factor in _FUZZ_RANGES:
        delta += factor * max(min(float(days), end) - start, 0.0)
    low = max(2, round(days - delta))
    high = min(round(days + delta), maximum)
    low = min(low, high)
    # the seed's 64 bits are already uniform: use them as the draw (a Random per card
    # would cost more than the FSRS step itself when a whole collection is re-folded)
    draw = fuzz_seed(card_id, reps) / 2**64
    # py-fsrs draws from [low, high + 1) and rounds, which can land on high + 1; stay in band.
    return min(round(draw * (high - low + 1) + low), high)


class Scheduler:
    """Folds events into :class:`CardState` for the cards of one preset."""

    def __init__(self, preset: Preset, calendar: Calendar) -> None:
        import fsrs  # deferred: `flipdeck due` never needs it

        self._fsrs = fsrs
        self.preset = preset
        self.calendar = calendar
        kwargs = {}
        if preset.parameters is not None:
            kwargs["parameters"] = tuple(preset.parameters)
        self._scheduler = fsrs.Scheduler(
            desired_retention=preset.desired_retention,
            learning_steps=tuple(timedelta(minutes=m) for m in preset.learning_steps),
            relearning_steps=tuple(timedelta(minutes=m) for m in preset.relearning_steps),
            maximum_interval=preset.maximum_interval,
            enable_fuzzing=False,
            **kwargs,
        )
        self._ratings = {r.value: r for r in fsrs.Rating}
        self._states = {s.value: s for s in fsrs.State}

    # -- folding -----------------------------------------------------------------------------

    def fold(self, card_id: str, events: Iterable[Event]) -> CardState:
        """The state after ``events`` (already ordered by ``(reviewed_at, id)``) on a new card.

        Equal to applying the events one by one, but faster for long logs: between answers it
        carries py-fsrs's own card forward and settles due date and fuzz only once, at the end
        (only the last answer's interval matters).
        """
        state = CardState()
        card = None  # py-fsrs's card after the latest answer; ``state`` lags while it is set
        reps = lapses = day = at = 0
        for event in events:
            if event.rating == 0:
                if card is not None:
                    state = self._settle(card_id, card, reps, lapses, day, at)
                    card = None
                state = self._apply_manual(state, event)
                continue
            if card is None:
                card, previous = self._fsrs_card(state), state.state
                reps, lapses = state.reps, state.lapses
            else:
                previous = card.state.value
            at = event.reviewed_at
            day = self.calendar.day(at)
            reps += 1
            if previous == REVIEW and event.rating == AGAIN:
                lapses += 1
            card, _log = self._scheduler.review_card(
                card, self._ratings[event.rating], synthetic_time(day, reps)
            )
        if card is not None:
            state = self._settle(card_id, card, reps, lapses, day, at)
        return state

    def apply(self, card_id: str, state: CardState, event: Event) -> CardState:
        """The state after one more event, later than every event already folded."""
        if event.rating == 0:
            return self._apply_manual(state, event)
        return self._apply_answer(card_id, state, event.rating, event.reviewed_at)

    def _apply_answer(self, card_id: str, state: CardState, rating: int, at: int) -> CardState:
        day = self.calendar.day(at)
        reps = state.reps + 1
        lapses = state.lapses + (1 if state.state == REVIEW and rating == AGAIN else 0)
        card, _log = self._scheduler.review_card(
            self._fsrs_card(state), self._ratings[rating], synthetic_time(day, reps)
        )
        return self._settle(card_id, card, reps, lapses, day, at)

    def _fsrs_card(self, state: CardState):
        """py-fsrs's card for a state (a fresh learning card for a new one)."""
        fsrs = self._fsrs
        if state.state == NEW:
            return fsrs.Card(card_id=0, state=fsrs.State.Learning, step=0, due=_EPOCH)
        return fsrs.Card(
            card_id=0,
            state=self._states[state.state],
            step=state.step,
            stability=state.stability,
            difficulty=state.difficulty,
            due=_EPOCH,  # py-fsrs reads only last_review when answering
            last_review=synthetic_time(state.last_day, state.reps),
        )

    def _settle(self, card_id: str, card, reps: int, lapses: int, day: int, at: int) -> CardState:
        """The state after an answer given at ``at`` (learning day ``day``) left ``card``."""
        when = synthetic_time(day, reps)
        new_state = card.state.value
        if new_state == REVIEW:
            interval = (card.due - when).days
            interval = fuzzed_interval(interval, card_id, reps, self.preset.maximum_interval)
            due = self.calendar.start(day + interval)
        else:
            interval = 0
            due = at + (card.due - when) // timedelta(milliseconds=1)
        return CardState(
            state=new_state,
            step=card.step,
            stability=card.stability,
            difficulty=card.difficulty,
            due=due,
            interval=interval,
            reps=reps,
            lapses=lapses,
            last_day=day,
            last_review=at,
        )

    def _apply_manual(self, state: CardState, event: Event) -> CardState:
        data = _manual_data(event.data)
        action = data.get("action")
        if action == "forget":
            return CardState(reps=state.reps, lapses=state.lapses, last_review=event.reviewed_at)
        day = data.get("day")
        if action == "set_due" and isinstance(day, int) and 1 <= day <= _MAX_DAY:
            today = self.calendar.day(event.reviewed_at)
            if state.stability is None:
                # A new card given a due date becomes a review card whose memory is seeded so
                # that it is at the desired retention on that day, as its interval implies.
                return replace(
                    state,
                    state=REVIEW,
                    step=None,
                    stability=float(max(day - today, 1)),
                    difficulty=self._scheduler._initial_difficulty(
                        rating=self._ratings[GOOD], clamp=True
                    ),
                    due=self.calendar.start(day),
                    interval=max(day - today, 0),
                    last_day=today,
                    last_review=event.reviewed_at,
                )
            return replace(
                state,
                state=REVIEW,
                step=None,
                due=self.calendar.start(day),
                interval=max(day - (state.last_day or today), 0),
                last_review=event.reviewed_at,
            )
        # An unknown (or malformed) manual action, e.g. from a newer flipdeck: keep the state
        # and note the time, so every device still folds the same log to the same state.
        return replace(state, last_review=event.reviewed_at)

    # -- questions about a state ---------------------------------------------------------------

    def preview(self, card_id: str, state: CardState, now: int) -> dict[int, CardState]:
        """What each rating would lead to if given now (for the answer buttons)."""
        return {r: self._apply_answer(card_id, state, r, now) for r in RATING_NAMES}

    def retrievability(self, state: CardState, now: int) -> float | None:
        """The predicted chance of recall now, or ``None`` for a card never answered."""
        if state.stability is None or state.last_day is None:
            return None
        elapsed = max(0, self.calendar.day(now) - state.last_day)
        decay = -self._scheduler.parameters[20]
        factor = 0.9 ** (1 / decay) - 1
        return (1 + factor * elapsed / state.stability) ** decay


def interval_label(state: CardState, now: int) -> str:
    """How long until ``state`` is due, as an answer button shows it; review cards in days."""
    if state.state == REVIEW:
        return describe_interval(state.interval * 86_400_000)
    return describe_interval((state.due or now) - now)


def describe_interval(ms: int) -> str:
    """An interval the way Anki's answer buttons show it: ``<1m``, ``10m``, ``3h``, ``4d``,
    ``1.5mo``, ``2.1y``; each unit is used only while it rounds below the next one."""
    minutes = ms / 60_000
    if minutes < 1:
        return "<1m"
    if round(minutes) < 60:
        return f"{round(minutes)}m"
    hours = minutes / 60
    if round(hours) < 24:
        return f"{round(hours)}h"
    days = hours / 24
    if round(days) < 30:
        return f"{round(days)}d"
    months = days / 30.4375
    if round(months, 1) < 12:
        return f"{months:.1f}mo".replace(".0mo", "mo")
    return f"{days / 365.25:.1f}y".replace(".0y", "y")

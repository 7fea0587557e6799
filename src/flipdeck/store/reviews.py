"""Provides the review log's side of the store: answering, manual events, undo, and the
derived scheduling state kept per card.

The ``cards`` table caches each card's :class:`~flipdeck.core.scheduling.CardState` so that
"what is due" is one indexed query. The cache is always the fold of the card's events: an
answer in time order extends it incrementally; anything else (an event earlier than the last,
an undo, a preset change) re-folds the card from its log, and :func:`rebuild` re-folds all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from flipdeck.core.errors import InvalidInput, NotFound
from flipdeck.core.presets import DEFAULT_PRESET_ID
from flipdeck.core.scheduling import (
    AGAIN,
    KIND_FOR_STATE,
    LEARNING,
    MANUAL,
    NEW,
    RELEARNING,
    REVIEW,
    CardState,
    Event,
)
from flipdeck.store import config, presets

STATE_COLUMNS = (
    "state, step, stability, difficulty, due, interval, reps, lapses, last_day, last_review"
)
_STATE_FIELDS = [name.strip() for name in STATE_COLUMNS.split(",")]
_CARD_SQL = (
    "SELECT c.note_id, c.suspended, c.deleted, coalesce(d.preset_id, ?), c.buried_until, "
    + ", ".join(f"c.{name}" for name in _STATE_FIELDS)
    + " FROM cards c LEFT JOIN decks d ON d.id = c.deck_id WHERE c.id = ?"
)
_SAVE_SQL = (
    "UPDATE cards SET queue = ?, "
    + ", ".join(f"{name} = ?" for name in _STATE_FIELDS)
    + " WHERE id = ?"
)
_SAVE_NEW_SQL = (
    "UPDATE cards SET queue = ?, "
    + ", ".join(f"{name} = ?" for name in _STATE_FIELDS if name != "due")
    + ", due = (SELECT created FROM notes WHERE notes.id = cards.note_id) WHERE id = ?"
)


DELETED_QUEUE = -2


def queue_of(state: int, suspended: int) -> int:
    """The ``queue`` column: -1 suspended, 0 new, 1 learning or relearning, 2 review
    (and -2, set by deletion, for deleted cards)."""
    if suspended:
        return -1
    if state == NEW:
        return 0
    return 1 if state in (LEARNING, RELEARNING) else 2


def _state(values) -> CardState:
    state, step, s, d, due, interval, reps, lapses, last_day, last_review = values
    return CardState(
        state, step, s, d, due, interval or 0, reps or 0, lapses or 0, last_day, last_review
    )


def _row(state: CardState) -> tuple:
    return (
        state.state,
        state.step,
        state.stability,
        state.difficulty,
        state.due,
        state.interval,
        state.reps,
        state.lapses,
        state.last_day,
        state.last_review,
    )


def clear_state(col, card_ids: Iterable[str]) -> None:
    """Give deleted cards the blank derived state (queue -2, otherwise a new card's).

    A deleted card is never folded (nothing studies it), so whatever it last held would depend
    on which reviews and preset changes happened to arrive before its deletion, and devices
    would disagree; the blank state is the same everywhere. Reviving a card re-folds it.
    """
    blank = _row(CardState())
    col.conn.executemany(_SAVE_SQL, [(DELETED_QUEUE, *blank, cid) for cid in card_ids])


def save_state(col, card_id: str, state: CardState, suspended: int) -> None:
    """Store a card's derived state (new cards sort by their note's creation)."""
    sql, params = _save(card_id, state, suspended)
    col.conn.execute(sql, params)


def _save(card_id: str, state: CardState, suspended: int) -> tuple[str, tuple]:
    """The statement and parameters storing a card's derived state."""
    queue = queue_of(state.state, suspended)
    if state.state == NEW:
        values = [v for name, v in zip(_STATE_FIELDS, _row(state), strict=True) if name != "due"]
        return _SAVE_NEW_SQL, (queue, *values, card_id)
    return _SAVE_SQL, (queue, *_row(state), card_id)


@dataclass
class CardRow:
    """What answering needs to know about a card."""

    id: str
    note_id: str
    suspended: int
    preset_id: str
    buried_until: int
    state: CardState


def card_row(col, card_id: str) -> CardRow:
    """A live card's scheduling row."""
    row = col.conn.execute(_CARD_SQL, (DEFAULT_PRESET_ID, card_id)).fetchone()
    if row is None or row[2]:
        raise NotFound(f"no card with id {card_id}")
    return CardRow(card_id, row[0], row[1], row[3], row[4], _state(row[5:]))


def events(col, card_id: str) -> list[Event]:
    """A card's events in fold order."""
    return [
        Event(*r)
        for r in col.conn.execute(
            "SELECT id, reviewed_at, rating, kind, data FROM reviews WHERE card_id = ?"
            " ORDER BY reviewed_at, id",
            (card_id,),
        )
    ]


_REFOLD_BATCH = 500  # ids per IN (…)


def refold(col, card_ids: Iterable[str]) -> None:
    """Recompute the cached state of some cards from their logs (missing and deleted cards are
    skipped).

    In batches: one query for the cards, one for all their events in fold order, one
    ``executemany`` per statement for the states; a sync page re-folds thousands of cards, and
    three statements per card cost more than the folds.
    """
    ids = list(dict.fromkeys(card_ids))
    for start in range(0, len(ids), _REFOLD_BATCH):
        chunk = ids[start : start + _REFOLD_BATCH]
        marks = ",".join("?" * len(chunk))
        live = {
            cid: (preset_id, suspended)
            for cid, preset_id, suspended, deleted in col.conn.execute(
                "SELECT c.id, coalesce(d.preset_id, ?), c.suspended, c.deleted FROM cards c"
                f" LEFT JOIN decks d ON d.id = c.deck_id WHERE c.id IN ({marks})",
                (DEFAULT_PRESET_ID, *chunk),
            )
            if not deleted
        }
        buckets: dict[str, list[Event]] = {cid: [] for cid in live}
        for card_id, *rest in col.conn.execute(
            "SELECT card_id, id, reviewed_at, rating, kind, data FROM reviews"
            f" WHERE card_id IN ({marks}) ORDER BY card_id, reviewed_at, id",
            chunk,
        ):
            if card_id in buckets:
                buckets[card_id].append(Event(*rest))
        writes: dict[str, list[tuple]] = {_SAVE_SQL: [], _SAVE_NEW_SQL: []}
        for cid, (preset_id, suspended) in live.items():
            state = presets.scheduler(col, preset_id).fold(cid, buckets[cid])
            sql, params = _save(cid, state, suspended)
            writes[sql].append(params)
        for sql, rows in writes.items():
            col.conn.executemany(sql, rows)


@dataclass
class Answer:
    """One answer given, with what undoing it must restore."""

    event_id: str
    card_id: str
    rating: int
    before: CardState
    after: CardState
    leech: bool = False
    suspended_as_leech: bool = False
    tagged_leech: bool = False
    buried: dict[str, int] = field(default_factory=dict)


def answer(
    col, card_id: str, rating: int, *, at: int | None = None, duration_ms: int | None = None
) -> Answer:
    """Record an answer (1–4) to a card and update its state, in the caller's transaction.

    Leeches are tagged (and suspended if the preset says so); the card's new and review
    siblings are buried until the next learning day, as in Anki.
    """
    if rating not in (1, 2, 3, 4):
        raise InvalidInput(f"rating must be 1–4 (again, hard, good, easy), not {rating}")
    row = card_row(col, card_id)
    at = col.now() if at is None else at
    event_id = col.new_id()
    before = row.state
    col.append_review(event_id, card_id, rating, at, duration_ms, KIND_FOR_STATE[before.state])
    scheduler = presets.scheduler(col, row.preset_id)
    if before.last_review is not None and at <= before.last_review:
        after = scheduler.fold(card_id, events(col, card_id))
    else:
        after = scheduler.apply(card_id, before, Event(event_id, at, rating))
    result = Answer(event_id, card_id, rating, before, after)
    preset = scheduler.preset
    suspended = row.suspended
    if before.state == REVIEW and rating == AGAIN and _is_leech(after.lapses, preset):
        result.leech = True
        result.tagged_leech = _tag_leech(col, row.note_id, add=True)
        if preset.leech_action == "suspend" and not suspended:
            col.write("card", card_id, {"suspended": 1})
            suspended = 1
            result.suspended_as_leech = True
    save_state(col, card_id, after, suspended)
    result.buried = _bury_siblings(col, row, config.calendar(col).next_cutoff(at))
    return result


def _is_leech(lapses: int, preset) -> bool:
    """Anki's rule: at the threshold, then every half threshold after it."""
    threshold = preset.leech_threshold
    if not threshold or lapses < threshold:
        return False
    return (lapses - threshold) % max(threshold // 2, 1) == 0


def _tag_leech(col, note_id: str, *, add: bool) -> bool:
    from flipdeck.store import notes

    note = notes.load(col, note_id)
    has = any(t.casefold() == "leech" for t in note.tags)
    if add and not has:
        notes.add_tags(col, note, ["leech"])
        return True
    if not add and has:
        notes.remove_tags(col, note, ["leech"])
        return True
    return False


def _bury_siblings(col, row: CardRow, until: int) -> dict[str, int]:
    buried = {}
    for sibling, previous in col.conn.execute(
        "SELECT id, buried_until FROM cards WHERE note_id = ? AND id != ? AND deleted = 0"
        " AND queue IN (0, 2) AND buried_until < ?",
        (row.note_id, row.id, until),
    ).fetchall():
        col.write("card", sibling, {"buried_until": until})
        buried[sibling] = previous
    return buried


def undo(col, done: Answer) -> None:
    """Take an answer back: its event gets a grave and everything it changed is restored."""
    col.bury_review(done.event_id)
    for sibling, previous in done.buried.items():
        col.write("card", sibling, {"buried_until": previous})
    if done.suspended_as_leech:
        col.write("card", done.card_id, {"suspended": 0})
    if done.tagged_leech:
        _tag_leech(col, card_row(col, done.card_id).note_id, add=False)
    refold(col, [done.card_id])


def record_manual(col, card_ids: Iterable[str], action: dict, *, at: int | None = None) -> int:
    """Append a manual event (forget, set due) to each card and re-fold it; returns the
    number of cards changed (forgetting a card that is already new changes nothing)."""
    at = col.now() if at is None else at
    data = json.dumps(action, separators=(",", ":"))
    count = 0
    for cid in card_ids:
        row = card_row(col, cid)
        if action.get("action") == "forget" and row.state.state == NEW:
            continue
        event_id = col.new_id()
        col.append_review(event_id, cid, 0, at, None, MANUAL, data)
        scheduler = presets.scheduler(col, row.preset_id)
        if row.state.last_review is not None and at <= row.state.last_review:
            state = scheduler.fold(cid, events(col, cid))
        else:
            state = scheduler.apply(cid, row.state, Event(event_id, at, 0, MANUAL, data))
        save_state(col, cid, state, row.suspended)
        count += 1
    return count


def forget(col, card_ids: Iterable[str]) -> int:
    """Send cards back to new (their history stays in the log, as in Anki)."""
    return record_manual(col, card_ids, {"action": "forget"})


def set_due(col, card_ids: Iterable[str], day: int) -> int:
    """Make cards due on learning day ``day``."""
    return record_manual(col, card_ids, {"action": "set_due", "day": day})


def refold_decks(col, deck_ids: Iterable[str]) -> int:
    """Re-fold every card of some decks (after their preset changed)."""
    return rebuild(col, deck_ids=list(deck_ids))


def fresh_states(col, deck_ids: list[str] | None = None) -> Iterator[tuple[str, int, CardState]]:
    """``(card id, suspended, state)`` for every live card (or those of ``deck_ids``), folded
    afresh from the log; events stream in fold order from the ``(card_id, reviewed_at, id)``
    index."""
    where, params = "", []
    if deck_ids is not None:
        if not deck_ids:
            return
        where = f" AND c.deck_id IN ({','.join('?' * len(deck_ids))})"
        params = list(deck_ids)
    rows = col.conn.execute(
        "SELECT c.id, coalesce(d.preset_id, ?), c.suspended FROM cards c"
        " LEFT JOIN decks d ON d.id = c.deck_id WHERE c.deleted = 0" + where,
        (DEFAULT_PRESET_ID, *params),
    ).fetchall()
    meta = {cid: (preset_id, suspended) for cid, preset_id, suspended in rows}
    schedulers: dict = {}

    def fold(card_id: str, bucket: list[Event]) -> CardState:
        preset_id = meta[card_id][0]
        scheduler = schedulers.get(preset_id)
        if scheduler is None:
            scheduler = schedulers[preset_id] = presets.scheduler(col, preset_id)
        return scheduler.fold(card_id, bucket)

    sql = "SELECT card_id, id, reviewed_at, rating, kind, data FROM reviews"
    if deck_ids is not None:
        sql += " WHERE card_id IN (SELECT c.id FROM cards c WHERE c.deleted = 0" + where + ")"
    cursor = col.conn.execute(sql + " ORDER BY card_id, reviewed_at, id", params)
    folded = set()
    current, bucket = None, []
    for card_id, *rest in cursor:
        if card_id != current:
            if current in meta:
                folded.add(current)
                yield current, meta[current][1], fold(current, bucket)
            current, bucket = card_id, []
        bucket.append(Event(*rest))
    if current in meta:
        folded.add(current)
        yield current, meta[current][1], fold(current, bucket)
    for cid in meta.keys() - folded:
        yield cid, meta[cid][1], CardState()


def rebuild(
    col,
    progress: Callable[[int, int], None] | None = None,
    *,
    deck_ids: list[str] | None = None,
) -> int:
    """Re-fold every card (or those of ``deck_ids``) from the log, in one transaction.

    Returns the number of cards re-folded; updates are written in batches.
    """
    total = col.conn.execute("SELECT count(*) FROM cards WHERE deleted = 0").fetchone()[0]
    count = 0
    with col.transaction():
        updates: list[tuple] = []
        updates_new: list[tuple] = []

        def flush() -> None:
            col.conn.executemany(_SAVE_SQL, updates)
            col.conn.executemany(_SAVE_NEW_SQL, updates_new)
            updates.clear()
            updates_new.clear()

        for cid, suspended, state in fresh_states(col, deck_ids):
            queue = queue_of(state.state, suspended)
            if state.state == NEW:
                values = [v for n, v in zip(_STATE_FIELDS, _row(state), strict=True) if n != "due"]
                updates_new.append((queue, *values, cid))
            else:
                updates.append((queue, *_row(state), cid))
            count += 1
            if count % 5000 == 0:
                flush()
                if progress is not None:
                    progress(count, total)
        flush()
    if progress is not None:
        progress(count, count)
    return count


def stale_cards(col) -> list[str]:
    """Cards whose cached state differs from a fresh fold of their log (should be none)."""
    cached = {
        row[0]: _state(row[1:])
        for row in col.conn.execute(f"SELECT id, {STATE_COLUMNS} FROM cards WHERE deleted = 0")
    }
    stale = []
    for cid, _suspended, fresh in fresh_states(col):
        mine = cached.get(cid)
        if mine is not None and fresh.state == NEW:
            mine = CardState(**{**mine.__dict__, "due": None})
        if fresh != mine:
            stale.append(cid)
    return stale

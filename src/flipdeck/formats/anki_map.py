"""Provides the translation of Anki's records into flipdeck's: note types, presets, card keys
and the review log as review events.

Everything here is pure: the importer (``anki_import``) feeds it what ``anki_read`` read and
writes what comes back. Review events follow what Anki itself replays for FSRS
(``reviews_for_fsrs`` in Anki's ``rslib/src/scheduler/fsrs/params.rs``, ``anki-formats.md`` §5),
so that folding them gives the memory state Anki shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from flipdeck.core.ids import derived_id
from flipdeck.core.notetypes import CLOZE, STANDARD, Field, NoteType, Template
from flipdeck.core.presets import Preset
from flipdeck.formats.anki_read import AnkiNotetype, AnkiPreset

LEARN, REVIEW, RELEARN, FILTERED, MANUAL, RESCHEDULED = range(6)
_KINDS = {LEARN: "learn", REVIEW: "review", RELEARN: "relearn", FILTERED: "review"}


def _normal(template: str) -> str:
    return " ".join(template.split())


def _signature(kind: str, fields: Iterable[str], templates: Iterable[tuple[str, str]]) -> tuple:
    return (
        kind,
        tuple(f.casefold() for f in fields),
        tuple((_normal(front), _normal(back)) for front, back in templates),
    )


def kind_of(nt: AnkiNotetype) -> str:
    """flipdeck's kind for an Anki note type."""
    return CLOZE if nt.kind == 1 else STANDARD


def signature_of_anki(nt: AnkiNotetype) -> tuple:
    """What makes two note types the same: kind, field names and template text."""
    return _signature(kind_of(nt), nt.fields, ((t[1], t[2]) for t in nt.templates))


def signature_of(nt: NoteType) -> tuple:
    """The same for a flipdeck note type."""
    return _signature(
        nt.kind, (f.name for f in nt.fields), ((t.front, t.back) for t in nt.templates)
    )


def match_notetype(nt: AnkiNotetype, existing: Iterable[NoteType]) -> NoteType | None:
    """The live flipdeck note type an Anki one is: same name (case-insensitive), kind, fields
    and templates. Stock types match this way, and so do custom ones imported before."""
    wanted = signature_of_anki(nt)
    for candidate in existing:
        if candidate.name.casefold() == nt.name.casefold() and signature_of(candidate) == wanted:
            return candidate
    return None


def new_notetype(nt: AnkiNotetype, taken: Iterable[str]) -> NoteType:
    """A flipdeck note type for a custom Anki one, under a name no live type has.

    Its ids derive from the name and structure, so two devices importing the same package
    offline create one note type, not two.
    """
    digest = hashlib.sha256(repr(signature_of_anki(nt)).encode()).hexdigest()[:16]
    taken_folded = {t.casefold() for t in taken}
    name, n = nt.name, 1
    while name.casefold() in taken_folded:
        n += 1
        name = f"{nt.name} ({n})"
    nt_id = derived_id("anki-notetype", nt.name, digest)
    fields = tuple(
        Field(derived_id("anki-field", nt_id, str(i)), f, float(i)) for i, f in enumerate(nt.fields)
    )
    templates = tuple(
        Template(derived_id("anki-template", nt_id, str(i)), tname, float(i), front, back)
        for i, (tname, front, back) in enumerate(nt.templates)
    )
    sort = fields[nt.sort_idx].id if 0 < nt.sort_idx < len(fields) else None
    return NoteType(nt_id, name, kind_of(nt), fields, templates, nt.css, sort)


def card_key(notetype: NoteType, ord_: int) -> str | None:
    """flipdeck's card key for Anki's card ``ord`` (``None`` if the type has no such card)."""
    if notetype.is_cloze:
        return f"c{ord_ + 1}"
    if 0 <= ord_ < len(notetype.templates):
        return notetype.templates[ord_].id
    return None


# -- presets ----------------------------------------------------------------------------------


def fsrs6_parameters(params: tuple[float, ...]) -> tuple[float, ...] | None:
    """FSRS-6 parameters from Anki's (FSRS-4.5 and -5 sets are extended as Anki does); ``None``
    for the defaults or an unusable set."""
    if len(params) == 19:
        params = (*params, 0.0, 0.5)
    elif len(params) == 17:
        params = (*params, 0.0, 0.0, 0.0, 0.5)
    if len(params) != 21:
        return None
    import fsrs

    try:
        fsrs.Scheduler(parameters=params)
    except (ValueError, TypeError):
        return None
    defaults = tuple(fsrs.Scheduler().parameters)
    if all(abs(a - b) < 1e-6 for a, b in zip(params, defaults, strict=True)):
        return None
    return tuple(round(p, 6) for p in params)


def preset_from_anki(p: AnkiPreset) -> Preset:
    """The flipdeck options of an Anki preset (id and name left for the caller)."""

    def steps(values: tuple[float, ...]) -> tuple[float, ...]:
        return tuple(round(s, 4) for s in values if 0 < s <= 36500 * 1440)

    return Preset(
        name=p.name,
        desired_retention=min(max(round(p.desired_retention, 4), 0.5), 0.99),
        new_per_day=max(p.new_per_day, 0),
        reviews_per_day=max(p.reviews_per_day, 0),
        learning_steps=steps(p.learn_steps),
        relearning_steps=steps(p.relearn_steps),
        maximum_interval=min(max(p.maximum_interval, 1), 36500),
        leech_threshold=max(p.leech_threshold, 0),
        leech_action="suspend" if p.leech_suspend else "tag",
        parameters=fsrs6_parameters(p.params),
    ).validated()


def same_options(a: Preset, b: Preset) -> bool:
    """Whether two presets schedule alike (names and ids aside)."""
    keys = (
        "desired_retention",
        "new_per_day",
        "reviews_per_day",
        "learning_steps",
        "relearning_steps",
        "maximum_interval",
        "leech_threshold",
        "leech_action",
        "parameters",
    )
    return all(getattr(a, k) == getattr(b, k) for k in keys)


# -- the review log -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewEvent:
    """One review event to append: what ``Collection.append_review`` takes."""

    id: str
    rating: int
    reviewed_at: int
    duration_ms: int | None
    kind: str
    data: str | None = None


def _manual(action: dict) -> str:
    return json.dumps(action, separators=(",", ":"))


def _replay_start(rows: list[tuple]) -> int | None:
    """Where Anki starts replaying a card's log for FSRS: the first entry of the last run of
    rated learning entries (cramming skipped), or ``None`` when the log has none."""
    start = None
    for index in range(len(rows) - 1, -1, -1):
        _id, _cid, ease, _ivl, factor, _time, kind = rows[index]
        if kind == FILTERED and factor == 0:
            continue
        if kind == LEARN and 1 <= ease <= 4:
            start = index
        elif start is not None or (kind == MANUAL and factor == 0):
            break
    return start


def review_events(rows: list[tuple], guid: str, ord_: int, day_of) -> list[ReviewEvent]:
    """A card's revlog rows (``id, cid, ease, ivl, factor, time, type``, in time order) as
    review events; ``day_of(ms)`` is the learning day of an instant.

    Ids derive from (note guid, card ord, revlog id), so importing a package twice never
    duplicates an event. When Anki would drop history before the card's last run of learning
    answers (a reset that older Anki did not log), a ``forget`` event is put just before it.
    """
    events: list[ReviewEvent] = []
    start = _replay_start(rows)
    for index, (rid, _cid, ease, ivl, factor, taken, kind) in enumerate(rows):
        event_id = derived_id("anki-review", guid, str(ord_), str(rid))
        duration = max(int(taken), 0)
        if index == start and index > 0 and _rated_since_reset(rows[:index]):
            events.append(
                ReviewEvent(
                    derived_id("anki-review-reset", guid, str(ord_), str(rid)),
                    0,
                    rid - 1,
                    None,
                    "manual",
                    _manual({"action": "forget"}),
                )
            )
        if 1 <= ease <= 4 and kind in _KINDS and not (kind == FILTERED and factor == 0):
            events.append(ReviewEvent(event_id, ease, rid, duration, _KINDS[kind]))
        elif kind == MANUAL and factor == 0:
            events.append(
                ReviewEvent(event_id, 0, rid, None, "manual", _manual({"action": "forget"}))
            )
        elif kind in (MANUAL, RESCHEDULED):
            day = day_of(rid) + max(int(ivl), 0)
            action = {"action": "set_due", "day": day}
            events.append(ReviewEvent(event_id, 0, rid, None, "manual", _manual(action)))
        else:  # cramming in a filtered deck, or an entry with no rating: history only
            action = {"action": "anki", "type": int(kind), "ease": int(ease)}
            events.append(ReviewEvent(event_id, 0, rid, duration, "manual", _manual(action)))
    return events


def _rated_since_reset(rows: list[tuple]) -> bool:
    """Whether any answer that counts comes after the last logged reset in ``rows``."""
    for _id, _cid, ease, _ivl, factor, _time, kind in reversed(rows):
        if kind == MANUAL and factor == 0:
            return False
        if 1 <= ease <= 4 and kind in _KINDS and not (kind == FILTERED and factor == 0):
            return True
    return False

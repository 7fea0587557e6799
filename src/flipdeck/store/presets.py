"""Provides deck presets in the store, and the FSRS scheduler each one implies."""

from __future__ import annotations

import json
from dataclasses import asdict, fields

from flipdeck.core.errors import Conflict, NotFound
from flipdeck.core.presets import DEFAULT_PRESET_ID, Preset
from flipdeck.core.scheduling import Scheduler
from flipdeck.store import config

_COLUMNS = [f.name for f in fields(Preset) if f.name != "id"]
_JSON = ("learning_steps", "relearning_steps", "parameters")


def _from_row(row) -> Preset:
    values = dict(zip(["id", *_COLUMNS], row, strict=True))
    for key in _JSON:
        raw = values[key]
        values[key] = tuple(json.loads(raw)) if raw else None
    values["learning_steps"] = values["learning_steps"] or ()
    values["relearning_steps"] = values["relearning_steps"] or ()
    return Preset(**values)


def _values(preset: Preset) -> dict:
    data = asdict(preset)
    data.pop("id")
    for key in _JSON:
        if data[key] is not None:
            data[key] = list(data[key])
    return data


def load(col, preset_id: str) -> Preset:
    """The preset with this id (cached); a missing or deleted one falls back to the default."""
    cached = col._presets.get(preset_id)
    if cached is not None:
        return cached
    row = col.conn.execute(
        f"SELECT id, {', '.join(_COLUMNS)} FROM presets WHERE id = ? AND deleted = 0",
        (preset_id,),
    ).fetchone()
    if row is None and preset_id != DEFAULT_PRESET_ID:
        return load(col, DEFAULT_PRESET_ID)
    preset = _from_row(row) if row else Preset()
    col._presets[preset_id] = preset
    return preset


def all_presets(col) -> list[Preset]:
    """Every live preset, by name."""
    rows = col.conn.execute(
        f"SELECT id, {', '.join(_COLUMNS)} FROM presets WHERE deleted = 0 ORDER BY name"
    )
    return [_from_row(row) for row in rows]


def find(col, name: str) -> Preset:
    """The preset called ``name`` (case-insensitive)."""
    folded = name.casefold()
    for preset in all_presets(col):
        if preset.name.casefold() == folded:
            return preset
    raise NotFound(f"no preset named {name!r}", hint="List them with `flipdeck deck config`.")


def save(col, preset: Preset, *, stamp: str | None = None) -> Preset:
    """Write a new or changed preset (only the options that differ are recorded)."""
    preset = preset.validated()
    current = col.conn.execute("SELECT 1 FROM presets WHERE id = ?", (preset.id,)).fetchone()
    if current is None:
        for other in all_presets(col):
            if other.name.casefold() == preset.name.casefold():
                raise Conflict(f"a preset named {preset.name!r} already exists")
        col.write("preset", preset.id, {**_values(preset), "deleted": 0}, stamp=stamp)
    else:
        before = _values(load(col, preset.id))
        changed = {k: v for k, v in _values(preset).items() if before.get(k) != v}
        if changed:
            col.write("preset", preset.id, changed)
    col.invalidate()
    return preset


def scheduler(col, preset_id: str) -> Scheduler:
    """The scheduler for a preset, built once per collection and preset."""
    cached = col._schedulers.get(preset_id)
    if cached is None:
        cached = Scheduler(load(col, preset_id), config.calendar(col))
        col._schedulers[preset_id] = cached
    return cached

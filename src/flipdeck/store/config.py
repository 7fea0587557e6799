"""Provides collection settings: synced key/value pairs such as the day rollover and time zone.

They are rows of the ``config`` entity, so they merge like everything else.
"""

from __future__ import annotations

import json
from typing import Any

from flipdeck.core.days import Calendar
from flipdeck.core.errors import InvalidInput

DEFAULTS: dict[str, Any] = {"rollover_hour": 4, "timezone": "UTC"}


def get(col, key: str) -> Any:
    """A setting's value, or its default."""
    row = col.conn.execute("SELECT value FROM config WHERE id = ?", (key,)).fetchone()
    if row is None or row[0] is None:
        return DEFAULTS.get(key)
    return json.loads(row[0])


def all_settings(col) -> dict[str, Any]:
    """Every setting with defaults filled in."""
    values = dict(DEFAULTS)
    for key, value in col.conn.execute("SELECT id, value FROM config"):
        if value is not None:
            values[key] = json.loads(value)
    return values


def set_value(col, key: str, value: Any) -> None:
    """Change a setting (the caller holds a transaction and re-folds what depends on it)."""
    if key not in DEFAULTS:
        raise InvalidInput(f"unknown setting {key!r}", hint=f"Settings: {', '.join(DEFAULTS)}.")
    if key == "rollover_hour":
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"rollover hour must be a whole number 0–23, not {value!r}"
            ) from None
        Calendar("UTC", value)  # validates the range
    if key == "timezone":
        Calendar(str(value), 4)  # validates
    col.write("config", key, {"value": value})
    col.invalidate()


def calendar(col) -> Calendar:
    """The collection's learning-day calendar (cached on the collection)."""
    if col._calendar is None:
        settings = all_settings(col)
        col._calendar = Calendar(settings["timezone"], int(settings["rollover_hour"]))
    return col._calendar

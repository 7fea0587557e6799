"""Provides what a new collection starts with: settings, the default preset and deck, and the
stock note types.

These rows are written with the *genesis* stamp (clock value zero), so that two devices that
each created them agree, and any real edit, on any device, beats them.
"""

from __future__ import annotations

from flipdeck.core import hlc
from flipdeck.core.days import local_zone_name
from flipdeck.core.notetypes import STOCK
from flipdeck.core.presets import DEFAULT_PRESET_ID, Preset
from flipdeck.store import decks, notetypes, presets

DEFAULT_DECK = "Default"


def genesis(col) -> str:
    """The lowest stamp this device can write."""
    return hlc.encode(0, 0, col.clock.node)


def install_defaults(col) -> None:
    """Fill a freshly migrated collection (the caller holds the transaction)."""
    stamp = genesis(col)
    col.write("config", "timezone", {"value": local_zone_name()}, stamp=stamp)
    col.write("config", "rollover_hour", {"value": 4}, stamp=stamp)
    presets.save(col, Preset(id=DEFAULT_PRESET_ID), stamp=stamp)
    decks.create(col, DEFAULT_DECK, stamp=stamp)
    for notetype in STOCK:
        notetypes.install(col, notetype, stamp=stamp)

"""Provides the merge rules, the one place that decides which value a row ends up with.

* Mutable rows merge **per field**: each field keeps the value with the greatest hybrid-logical
  clock stamp. A deletion is a ``deleted`` field like any other, so a later edit can restore a
  row and every device reaches the same outcome in any order of arrival.
* Review events merge by **union** on their id; an undone review leaves a tombstone (grave) that
  keeps it out wherever it arrives later.

Both rules are commutative, associative and idempotent, which is what lets any number of
devices converge without asking anyone to choose a side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def winning_fields(
    local_clock: Mapping[str, str], values: Mapping[str, object], stamp: str
) -> dict[str, object]:
    """The fields of a change stamped ``stamp`` that beat the local row's stamps."""
    if not local_clock and stamp:  # a row never written: every field wins (a first sync's
        return dict(values)  # thousands of rows take this way)
    return {key: value for key, value in values.items() if local_clock.get(key, "") < stamp}


def advance_clock(
    local_clock: Mapping[str, str], keys: Iterable[str], stamp: str
) -> dict[str, str]:
    """The row's clock after the fields ``keys`` took values stamped ``stamp``."""
    clock = dict(local_clock)
    for key in keys:
        clock[key] = stamp
    return clock


def review_is_new(event_id: str, present: bool, buried: bool) -> bool:
    """Union rule for review events: add one unless it is already there or was undone."""
    return not present and not buried

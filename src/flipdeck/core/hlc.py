"""Provides the hybrid logical clock that orders every mutation.

A stamp is ``(wall ms, counter, device)`` encoded as fixed-width lowercase hex, so comparing two
stamps as strings compares them as clocks. Wall time alone cannot order edits (device clocks
may be off by days); the counter keeps a device's own stamps increasing when its clock stalls or
steps back, and observing a remote stamp moves the clock past it, so an edit made after seeing
another always wins over it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

_MS_DIGITS = 12
_COUNTER_DIGITS = 4
_MAX_COUNTER = 16**_COUNTER_DIGITS - 1
LATEST_MS = 253_402_300_799_999
"""The last millisecond of year 9999: a remote stamp beyond it is corrupt and not followed."""


def encode(ms: int, counter: int, node: str) -> str:
    """The string form of a clock value; ``node`` is the device's 16-hex-digit node id."""
    return f"{ms:0{_MS_DIGITS}x}{counter:0{_COUNTER_DIGITS}x}{node}"


def decode(stamp: str) -> tuple[int, int, str]:
    """``(ms, counter, node)`` of a stamp made by :func:`encode`."""
    ms = int(stamp[:_MS_DIGITS], 16)
    counter = int(stamp[_MS_DIGITS : _MS_DIGITS + _COUNTER_DIGITS], 16)
    return ms, counter, stamp[_MS_DIGITS + _COUNTER_DIGITS :]


def node_of(device_id: str) -> str:
    """The 16-hex-digit node id used in stamps, taken from a device id."""
    return device_id.replace("-", "")[-16:]


class Clock:
    """A device's hybrid logical clock.

    Args:
        node: this device's node id (see :func:`node_of`).
        last: the greatest stamp this device has issued or seen, so a restart never goes back.
        wall: the wall clock in epoch milliseconds; injected by tests.
    """

    def __init__(
        self, node: str, last: str | None = None, wall: Callable[[], int] | None = None
    ) -> None:
        self.node = node
        self._wall = wall or (lambda: time.time_ns() // 1_000_000)
        self._ms, self._counter = (decode(last)[:2]) if last else (0, 0)

    def now(self) -> str:
        """A new stamp, greater than every stamp issued or observed before."""
        wall = self._wall()
        if wall > self._ms:
            self._ms, self._counter = wall, 0
        else:
            self._counter += 1
            if self._counter > _MAX_COUNTER:
                self._ms, self._counter = self._ms + 1, 0
        return encode(self._ms, self._counter, self.node)

    def observe(self, stamp: str) -> None:
        """Move past a stamp received from another device."""
        ms, counter, _node = decode(stamp)
        if ms > LATEST_MS:
            return
        if (ms, counter) > (self._ms, self._counter):
            self._ms, self._counter = ms, counter

    @property
    def last(self) -> str:
        """The latest value of the clock, to persist."""
        return encode(self._ms, self._counter, self.node)

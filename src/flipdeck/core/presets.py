"""Provides deck presets: the study options several decks share.

The defaults are those of a fresh Anki collection (and of py-fsrs): retention 0.9, 20 new and
200 reviews a day, learning steps 1m 10m, relearning 10m, a 100-year cap, leeches at 8 lapses.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from flipdeck.core.errors import InvalidInput
from flipdeck.core.ids import derived_id

DEFAULT_PRESET_ID = derived_id("preset", "default")
LEECH_ACTIONS = ("tag", "suspend")


@dataclass(frozen=True)
class Preset:
    """One set of study options; steps are in minutes, as Anki's options screen shows them."""

    id: str = DEFAULT_PRESET_ID
    name: str = "Default"
    desired_retention: float = 0.9
    new_per_day: int = 20
    reviews_per_day: int = 200
    learning_steps: tuple[float, ...] = (1.0, 10.0)
    relearning_steps: tuple[float, ...] = (10.0,)
    maximum_interval: int = 36500
    leech_threshold: int = 8
    leech_action: str = "tag"
    parameters: tuple[float, ...] | None = field(default=None)

    def validated(self) -> Preset:
        """This preset, or :class:`InvalidInput` naming the first option out of range."""
        if not 0.5 <= self.desired_retention <= 0.99:
            raise InvalidInput("desired retention must be between 0.50 and 0.99")
        for name in ("new_per_day", "reviews_per_day", "leech_threshold"):
            if getattr(self, name) < 0:
                raise InvalidInput(f"{name.replace('_', ' ')} cannot be negative")
        if not 1 <= self.maximum_interval <= 36500:
            raise InvalidInput("maximum interval must be 1–36500 days")
        for name in ("learning_steps", "relearning_steps"):
            if any(step <= 0 for step in getattr(self, name)):
                raise InvalidInput(f"{name.replace('_', ' ')} must be positive minutes")
        if self.leech_action not in LEECH_ACTIONS:
            raise InvalidInput(f"leech action must be one of {', '.join(LEECH_ACTIONS)}")
        if self.parameters is not None and len(self.parameters) != 21:
            raise InvalidInput("FSRS parameters must be 21 numbers (FSRS-6)")
        return self

    def with_options(self, **options: object) -> Preset:
        """A copy with some options changed, validated."""
        known = {f.name for f in fields(self)}
        unknown = set(options) - known
        if unknown:
            raise InvalidInput(f"unknown preset option: {', '.join(sorted(unknown))}")
        return replace(self, **options).validated()  # type: ignore[arg-type]


def parse_steps(text: str) -> tuple[float, ...]:
    """Steps written the way Anki shows them (``1m 10m``, ``1h``, ``1d``, ``90s``) in minutes."""
    units = {"s": 1 / 60, "m": 1.0, "h": 60.0, "d": 1440.0}
    steps = []
    for token in text.replace(",", " ").split():
        unit = token[-1].lower()
        number = token[:-1] if unit in units else token
        try:
            value = float(number) * units.get(unit, 1.0)
        except ValueError:
            raise InvalidInput(f"not a step: {token!r}", hint="Write steps like 1m 10m 1h 1d.")
        if value <= 0:
            raise InvalidInput(f"steps must be positive: {token!r}")
        steps.append(value)
    return tuple(steps)


def format_steps(steps: tuple[float, ...]) -> str:
    """The inverse of :func:`parse_steps`, choosing the largest whole unit."""
    out = []
    for minutes in steps:
        for unit, size in (("d", 1440.0), ("h", 60.0), ("m", 1.0)):
            if minutes >= size and (minutes / size).is_integer():
                out.append(f"{int(minutes / size)}{unit}")
                break
        else:
            out.append(f"{round(minutes * 60)}s")
    return " ".join(out)

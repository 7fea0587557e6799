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
MAX_STEP = 36500 * 1440.0  # minutes: a step may be as long as the longest interval, no longer


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
            # `0 < step` is false for NaN; the cap keeps every due date a representable time
            if not all(0 < step <= MAX_STEP for step in getattr(self, name)):
                raise InvalidInput(
                    f"{name.replace('_', ' ')} must be positive minutes, at most 36500 days"
                )
        if self.leech_action not in LEECH_ACTIONS:
            raise InvalidInput(f"leech action must be one of {', '.join(LEECH_ACTIONS)}")
        if self.parameters is not None:
            if len(self.parameters) != 21:
                raise InvalidInput("FSRS parameters must be 21 numbers (FSRS-6)")
            _check_parameters(self.parameters)
        return self

    def with_options(self, **options: object) -> Preset:
        """A copy with some options changed, validated."""
        known = {f.name for f in fields(self)}
        unknown = set(options) - known
        if unknown:
            raise InvalidInput(f"unknown preset option: {', '.join(sorted(unknown))}")
        return replace(self, **options).validated()  # type: ignore[arg-type]


def _check_parameters(parameters: tuple[float, ...]) -> None:
    """Refuse FSRS parameters py-fsrs would refuse (each has a range), as the user's mistake."""
    import fsrs  # deferred: only presets with their own parameters need it

    try:
        fsrs.Scheduler(parameters=tuple(parameters))
    except (ValueError, TypeError) as err:
        raise InvalidInput(
            "invalid FSRS parameters: " + "; ".join(str(err).splitlines()),
            hint="Use parameters optimised by Anki or flipdeck, or remove them.",
        ) from None


# minutes = number * multiplier / divisor; dividing (not multiplying by 1/60) keeps "90s" == 1.5
_STEP_UNITS = {"d": (1440, 1), "h": (60, 1), "m": (1, 1), "s": (1, 60)}
_STEP_HINT = "Write steps like 1m 10m 1h 1d (s, m, h or d after a positive number)."


def _step_value(number: str, unit: str) -> float:
    multiplier, divisor = _STEP_UNITS[unit]
    return float(number) * multiplier / divisor


def parse_steps(text: str) -> tuple[float, ...]:
    """Steps written the way Anki shows them (``1m 10m``, ``1h``, ``1d``, ``90s``) in minutes."""
    steps = []
    for token in text.replace(",", " ").split():
        unit = token[-1].lower()
        number = token[:-1] if unit in _STEP_UNITS else token
        try:
            value = _step_value(number, unit if unit in _STEP_UNITS else "m")
        except ValueError:
            raise InvalidInput(f"not a step: {token!r}", hint=_STEP_HINT) from None
        if not 0 < value <= MAX_STEP:  # also refuses nan and inf
            raise InvalidInput(
                f"steps must be positive and at most 36500 days: {token!r}", hint=_STEP_HINT
            )
        steps.append(value)
    return tuple(steps)


def format_steps(steps: tuple[float, ...]) -> str:
    """The inverse of :func:`parse_steps`: the largest whole unit (to within a hair, so a step
    stored as ``23 * (1/60)`` still shows as ``23s``), else exact decimal seconds or minutes."""
    return " ".join(_format_step(minutes) for minutes in steps)


def _format_step(minutes: float) -> str:
    for unit, (multiplier, divisor) in _STEP_UNITS.items():
        count = round(minutes * divisor / multiplier)
        if count >= 1 and abs(_step_value(str(count), unit) - minutes) <= 1e-12 * minutes:
            return f"{count}{unit}"
    # a step no whole unit expresses (0.5 s, or one from an import): exact decimals instead
    seconds = f"{minutes * 60!r}s"
    return seconds if _step_value(seconds[:-1], "s") == minutes else f"{minutes!r}m"

"""Tests deck presets: Anki's defaults, validation of every option (a preset that validates must
be one the scheduler can run), and the step syntax (``1m 10m``, ``90s``, ``1h``, ``1d``)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flipdeck.core.errors import InvalidInput
from flipdeck.core.presets import (
    DEFAULT_PRESET_ID,
    MAX_STEP,
    Preset,
    format_steps,
    parse_steps,
)

DEFAULT_PARAMETERS = (
    0.212, 1.2931, 2.3065, 8.2956, 6.4133, 0.8334, 3.0194, 0.001, 1.8722, 0.1666, 0.796, 1.4835,
    0.0614, 0.2629, 1.6483, 0.6014, 1.8729, 0.5425, 0.0912, 0.0658, 0.1542,
)  # fmt: skip


def test_defaults_are_ankis():
    preset = Preset()
    assert preset.id == DEFAULT_PRESET_ID
    assert (preset.desired_retention, preset.new_per_day, preset.reviews_per_day) == (0.9, 20, 200)
    assert (preset.learning_steps, preset.relearning_steps) == ((1.0, 10.0), (10.0,))
    assert (preset.maximum_interval, preset.leech_threshold, preset.leech_action) == (
        36500, 8, "tag",
    )  # fmt: skip
    assert preset.validated() is preset


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"desired_retention": 0.49}, "desired retention"),
        ({"desired_retention": 1.0}, "desired retention"),
        ({"desired_retention": math.nan}, "desired retention"),
        ({"new_per_day": -1}, "new per day"),
        ({"reviews_per_day": -1}, "reviews per day"),
        ({"leech_threshold": -1}, "leech threshold"),
        ({"maximum_interval": 0}, "maximum interval"),
        ({"maximum_interval": 36501}, "maximum interval"),
        ({"learning_steps": (1.0, 0.0)}, "learning steps"),
        ({"learning_steps": (-1.0,)}, "learning steps"),
        ({"learning_steps": (math.nan,)}, "learning steps"),
        ({"learning_steps": (math.inf,)}, "learning steps"),
        ({"learning_steps": (MAX_STEP * 2,)}, "learning steps"),
        ({"relearning_steps": (0.0,)}, "relearning steps"),
        ({"relearning_steps": (math.nan,)}, "relearning steps"),
        ({"leech_action": "delete"}, "leech action"),
        ({"parameters": DEFAULT_PARAMETERS[:20]}, "21 numbers"),
        ({"parameters": (*DEFAULT_PARAMETERS[:3], 200.0, *DEFAULT_PARAMETERS[4:])}, r"\[3\]"),
        ({"parameters": (*DEFAULT_PARAMETERS[:20], math.nan)}, r"\[20\]"),
    ],
)
def test_each_option_out_of_range_is_refused(options, message):
    """Each refusal names the option, so the CLI can tell the user what to change."""
    with pytest.raises(InvalidInput, match=message):
        Preset(**options).validated()


@pytest.mark.parametrize(
    "options",
    [
        {"desired_retention": 0.5},
        {"desired_retention": 0.99},
        {"new_per_day": 0, "reviews_per_day": 0, "leech_threshold": 0},
        {"maximum_interval": 1},
        {"maximum_interval": 36500},
        {"learning_steps": (), "relearning_steps": ()},
        {"learning_steps": (MAX_STEP,)},
        {"leech_action": "suspend"},
        {"parameters": DEFAULT_PARAMETERS},
    ],
)
def test_the_edges_of_each_range_are_accepted(options):
    Preset(**options).validated()


def test_out_of_range_parameters_are_the_users_mistake_not_a_crash():
    """py-fsrs would raise ValueError when the scheduler is built; validation says it first."""
    with pytest.raises(InvalidInput) as info:
        Preset(parameters=(0.0,) * 21).validated()
    assert info.value.hint


def test_with_options_changes_and_validates():
    preset = Preset()
    changed = preset.with_options(desired_retention=0.85, learning_steps=(1.0,))
    assert (changed.desired_retention, changed.learning_steps) == (0.85, (1.0,))
    assert preset.desired_retention == 0.9  # frozen: the original is untouched
    with pytest.raises(InvalidInput, match="desired retention"):
        preset.with_options(desired_retention=2.0)


def test_with_options_rejects_unknown_names():
    with pytest.raises(InvalidInput, match="colour, size"):
        Preset().with_options(size=3, colour="red", new_per_day=5)


# -- steps ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "steps", "formatted"),
    [
        ("1m 10m", (1.0, 10.0), "1m 10m"),
        ("1m,10m", (1.0, 10.0), "1m 10m"),
        ("90s", (1.5,), "90s"),
        ("1.5m", (1.5,), "90s"),
        ("1h", (60.0,), "1h"),
        ("60m", (60.0,), "1h"),
        ("1.5h", (90.0,), "90m"),
        ("1d", (1440.0,), "1d"),
        ("2D 3H", (2880.0, 180.0), "2d 3h"),
        ("10", (10.0,), "10m"),
        ("30s", (0.5,), "30s"),
        ("0.5s", (1 / 120,), "0.5s"),
        ("", (), ""),
    ],
)
def test_parse_and_format_steps(text, steps, formatted):
    assert parse_steps(text) == pytest.approx(steps, rel=1e-15)
    assert format_steps(parse_steps(text)) == formatted
    assert parse_steps(formatted) == parse_steps(text)


@pytest.mark.parametrize(
    "text", ["abc", "-1m", "0m", "0", "1x", "m", "1m abc", "nan", "infm", "1e400s", "100000d"]
)
def test_junk_steps_are_refused_helpfully(text):
    with pytest.raises(InvalidInput) as info:
        parse_steps(text)
    assert "1m 10m" in (info.value.hint or "")


@given(st.lists(st.floats(min_value=1e-6, max_value=MAX_STEP), max_size=5).map(tuple))
def test_format_then_parse_keeps_every_step(steps):
    """Any legal step survives ``format_steps``, even 0.5 s or 1.1 minutes (to 1e-12: a whole
    unit is shown for a step a rounding error away from it)."""
    again = parse_steps(format_steps(steps))
    assert again == pytest.approx(steps, rel=1e-12)
    assert format_steps(again) == format_steps(steps)


@pytest.mark.parametrize("seconds", [7, 23, 31, 59, 61, 107, 3599])
def test_whole_seconds_stored_by_multiplying_still_show_as_seconds(seconds):
    """Older flipdeck parsed ``23s`` as ``23 * (1/60)``, one ulp from ``23 / 60``."""
    assert format_steps((seconds * (1 / 60),)) == f"{seconds}s"


@given(
    st.lists(
        st.tuples(st.integers(1, 10_000), st.sampled_from(["s", "m", "h", "d", ""])), max_size=5
    )
)
def test_whole_units_round_trip_as_text(tokens):
    text = " ".join(f"{n}{unit}" for n, unit in tokens)
    steps = parse_steps(text)
    assert format_steps(parse_steps(format_steps(steps))) == format_steps(steps)
    assert parse_steps(format_steps(steps)) == steps

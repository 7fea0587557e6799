"""Tests the merge rules: per-field last-writer-wins by HLC stamp converges whatever order the
changes arrive in and however often each arrives; review events merge by union on their id."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flipdeck.core.hlc import encode
from flipdeck.core.merge import advance_clock, review_is_new, winning_fields

FIELDS = ("name", "deleted", "fields.f1", "fields.f2", "tags")

stamps = st.builds(
    encode,
    st.integers(0, 16**12 - 1),
    st.integers(0, 16**4 - 1),
    st.sampled_from(["0123456789abcdef", "fedcba9876543210", "00000000000000ff"]),
)


@st.composite
def change_sets(draw):
    """Changes ``(values, stamp)``, each touching one or more fields, with unique stamps."""
    unique = draw(st.lists(stamps, min_size=1, max_size=12, unique=True))
    values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
    return [
        (draw(st.dictionaries(st.sampled_from(FIELDS), values, min_size=1, max_size=3)), stamp)
        for stamp in unique
    ]


def apply(row: dict, clock: dict, values: dict, stamp: str) -> tuple[dict, dict]:
    """What the store does with one change: keep the winning fields, advance their clocks."""
    won = winning_fields(clock, values, stamp)
    return {**row, **won}, advance_clock(clock, won, stamp)


def merge_all(changes, start=None) -> tuple[dict, dict]:
    row, clock = start or ({}, {})
    for values, stamp in changes:
        row, clock = apply(row, clock, values, stamp)
    return row, clock


def expected(changes) -> tuple[dict, dict]:
    """Each field's value from the change with the greatest stamp that touched it."""
    row, clock = {}, {}
    for values, stamp in sorted(changes, key=lambda change: change[1]):
        for key, value in values.items():
            row[key], clock[key] = value, stamp
    return row, clock


@given(change_sets(), st.randoms(use_true_random=False))
@settings(max_examples=300)
def test_any_order_of_arrival_gives_the_same_row(changes, rng):
    shuffled = list(changes)
    rng.shuffle(shuffled)
    assert merge_all(shuffled) == merge_all(changes) == expected(changes)


@given(change_sets(), st.randoms(use_true_random=False))
@settings(max_examples=300)
def test_applying_changes_again_changes_nothing(changes, rng):
    """A retried batch, or a change that comes back from the server, is harmless."""
    once = merge_all(changes)
    repeated = [c for c in changes for _ in range(rng.randint(1, 3))]
    rng.shuffle(repeated)
    assert merge_all(repeated) == once
    assert merge_all(changes, start=once) == once


@given(change_sets(), st.integers(0, 12), st.randoms(use_true_random=False))
def test_merging_in_two_halves_is_associative(changes, cut, rng):
    """Device A merges one part, device B the rest, then each merges the other's: same row."""
    rng.shuffle(changes)
    first, second = changes[:cut], changes[cut:]
    a = merge_all(second, start=merge_all(first))
    b = merge_all(first, start=merge_all(second))
    assert a == b == expected(changes)


def test_an_older_stamp_loses_and_leaves_the_clock_alone():
    clock = {"name": encode(2000, 0, "0123456789abcdef")}
    assert winning_fields(clock, {"name": "old", "tags": "x"}, encode(1000, 0, "f" * 16)) == {
        "tags": "x"
    }


def test_an_equal_stamp_does_not_win():
    """The same change seen twice: its own stamp does not beat itself."""
    stamp = encode(1000, 0, "0123456789abcdef")
    assert winning_fields({"name": stamp}, {"name": "again"}, stamp) == {}


def test_advance_clock_returns_a_new_mapping():
    clock = {"name": "a"}
    advanced = advance_clock(clock, ["tags"], "b")
    assert advanced == {"name": "a", "tags": "b"}
    assert clock == {"name": "a"}


def test_a_deletion_is_a_field_a_later_edit_can_undo():
    delete = ({"deleted": True}, encode(1000, 0, "0123456789abcdef"))
    restore = ({"deleted": False, "name": "back"}, encode(2000, 0, "fedcba9876543210"))
    for changes in ([delete, restore], [restore, delete]):
        assert merge_all(changes)[0] == {"deleted": False, "name": "back"}


@pytest.mark.parametrize(
    ("present", "buried", "new"),
    [(False, False, True), (True, False, False), (False, True, False), (True, True, False)],
)
def test_review_union_rule(present, buried, new):
    """A review is added once, and never after it was undone (its grave keeps it out)."""
    assert review_is_new("r1", present, buried) is new

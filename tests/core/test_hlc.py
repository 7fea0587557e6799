"""Tests the hybrid logical clock: stamps only ever go up (whatever the wall clock does, across
restarts and after seeing other devices), and comparing stamps as strings compares the clocks."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from flipdeck.core.hlc import LATEST_MS, Clock, decode, encode, node_of
from tests.conftest import NOON, FakeClock

NODE = "0123456789abcdef"
OTHER = "fedcba9876543210"
MAX_MS = 16**12 - 1  # 12 hex digits: year 10889
MAX_COUNTER = 16**4 - 1

nodes = st.text("0123456789abcdef", min_size=16, max_size=16)
clock_values = st.tuples(st.integers(0, MAX_MS), st.integers(0, MAX_COUNTER), nodes)
# what a device can actually have issued: up to the end of year 9999
sane_values = st.tuples(st.integers(0, LATEST_MS), st.integers(0, MAX_COUNTER), nodes)


def test_stamps_increase_when_the_wall_clock_stalls():
    wall = FakeClock()
    clock = Clock(NODE, wall=wall)
    stamps = [clock.now() for _ in range(5)]
    assert stamps == sorted(set(stamps))
    assert [decode(s)[:2] for s in stamps] == [(NOON, i) for i in range(5)]


def test_stamps_increase_when_the_wall_clock_steps_back():
    wall = FakeClock()
    clock = Clock(NODE, wall=wall)
    before = clock.now()
    wall.advance(days=-3)
    after = clock.now()
    assert after > before
    assert decode(after)[:2] == (NOON, 1)  # held at the greatest ms seen


def test_a_later_wall_clock_resets_the_counter():
    wall = FakeClock()
    clock = Clock(NODE, wall=wall)
    clock.now()
    clock.now()
    wall.advance(seconds=1)
    assert decode(clock.now())[:2] == (NOON + 1000, 0)


@given(st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=200))
def test_stamps_strictly_increase_for_any_wall_clock(steps):
    """The wall clock may jump back and forth by up to ~11 days; stamps never repeat or fall."""
    wall = FakeClock()
    clock = Clock(NODE, wall=wall)
    stamps = []
    for step in steps:
        wall.ms += step
        stamps.append(clock.now())
    assert all(a < b for a, b in pairwise(stamps))


@given(clock_values, clock_values)
@settings(max_examples=500)
def test_string_order_is_clock_order(a, b):
    sa, sb = encode(*a), encode(*b)
    assert (sa < sb) == (a < b)
    assert (sa == sb) == (a == b)


@given(clock_values)
def test_encode_decode_round_trip(value):
    stamp = encode(*value)
    assert len(stamp) == 32
    assert decode(stamp) == value


def test_observing_a_stamp_from_the_future_moves_the_clock_past_it():
    """An edit made after seeing another device's must win over it, however far ahead that
    device's clock is."""
    wall = FakeClock()
    clock = Clock(NODE, wall=wall)
    remote = encode(NOON + 5 * 86_400_000, 7, OTHER)
    clock.observe(remote)
    mine = clock.now()
    assert mine > remote
    assert decode(mine)[:2] == (NOON + 5 * 86_400_000, 8)


def test_observing_an_older_stamp_changes_nothing():
    wall = FakeClock()
    clock = Clock(NODE, wall=wall)
    clock.now()
    last = clock.last
    clock.observe(encode(NOON - 1000, 99, OTHER))
    assert clock.last == last


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("now"), st.integers(-(10**8), 10**8)),
            st.tuples(st.just("observe"), sane_values.map(lambda v: encode(*v))),
        ),
        max_size=100,
    )
)
def test_every_stamp_beats_everything_issued_or_observed_before(actions):
    wall = FakeClock()
    clock = Clock(NODE, wall=wall)
    greatest = ""
    for action, value in actions:
        if action == "now":
            wall.ms = max(0, wall.ms + value)
            stamp = clock.now()
            assert stamp > greatest
            greatest = stamp
        else:
            clock.observe(value)
            greatest = max(greatest, value)


def test_counter_overflow_rolls_into_the_next_millisecond():
    wall = FakeClock()
    clock = Clock(NODE, last=encode(NOON, MAX_COUNTER - 1, NODE), wall=wall)
    assert decode(clock.now())[:2] == (NOON, MAX_COUNTER)
    rolled = clock.now()
    assert decode(rolled)[:2] == (NOON + 1, 0)
    assert rolled > encode(NOON, MAX_COUNTER, NODE)
    assert decode(clock.now())[:2] == (NOON + 1, 1)  # the wall (NOON) is still behind


def test_many_stamps_in_one_millisecond_stay_ordered():
    """More than 65,536 edits in one wall-clock millisecond borrow the next one."""
    clock = Clock(NODE, wall=FakeClock())
    stamps = [clock.now() for _ in range(MAX_COUNTER + 10)]
    assert all(a < b for a, b in pairwise(stamps))
    assert decode(stamps[-1])[0] == NOON + 1


@given(st.lists(st.integers(-(10**6), 10**6), max_size=50), st.integers(-(10**9), 10**9))
def test_a_restart_never_issues_a_smaller_stamp(steps, restart_shift):
    """A restarted device (clock rebuilt from the persisted ``last``, wall clock possibly set
    back) continues above everything it issued before."""
    wall = FakeClock()
    clock = Clock(NODE, wall=wall)
    issued = [clock.now()]
    for step in steps:
        wall.ms += step
        issued.append(clock.now())
    wall.ms += restart_shift
    restarted = Clock(NODE, last=clock.last, wall=wall)
    assert restarted.now() > max(issued)


def test_a_fresh_clock_starts_from_the_wall():
    assert decode(Clock(NODE, wall=FakeClock()).now()) == (NOON, 0, NODE)


def test_node_of_takes_the_last_16_hex_digits_of_a_device_id():
    assert node_of("0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b") == "8a6b7c8d9e0f1a2b"
    assert len(node_of("0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b")) == 16


def test_a_corrupt_stamp_beyond_year_9999_is_not_followed():
    """One garbage stamp from a peer must not push this device's clock out of range."""
    clock = Clock(NODE, wall=FakeClock())
    clock.observe(encode(MAX_MS, MAX_COUNTER, OTHER))
    assert decode(clock.now())[0] == NOON

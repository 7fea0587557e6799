"""Tests row identities: UUIDv7 ids (valid, time-ordered, strictly increasing within a process
even when the clock stalls or steps back) and deterministic UUIDv8 derived ids."""

from __future__ import annotations

import re
import uuid
from itertools import pairwise
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flipdeck.core import ids
from flipdeck.core.ids import derived_id, uuid7, uuid7_ms
from tests.conftest import NOON

CANONICAL = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def frozen(monkeypatch):
    """uuid7's clock replaced by one the test sets (in ms), with fresh per-process state."""
    now = SimpleNamespace(ms=NOON)
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: now.ms * 1_000_000))
    monkeypatch.setattr(ids, "_last_ms", 0)
    monkeypatch.setattr(ids, "_seq", 0)
    return now


def _assert_v7(value: str) -> uuid.UUID:
    assert CANONICAL.match(value)
    parsed = uuid.UUID(value)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    return parsed


def test_uuid7_is_a_valid_version_7_uuid():
    _assert_v7(uuid7())


def test_uuid7_strictly_increases_across_10k_calls():
    """Bulk inserts keep their order: many ids share a millisecond."""
    values = [uuid7() for _ in range(10_000)]
    assert all(a < b for a, b in pairwise(values))
    for value in values[::997]:
        _assert_v7(value)


def test_uuid7_strictly_increases_when_the_clock_stalls(frozen):
    """10k ids in one frozen millisecond exhaust the 12-bit counter and borrow the next ms."""
    values = [uuid7() for _ in range(10_000)]
    assert all(a < b for a, b in pairwise(values))
    assert all(uuid.UUID(v).version == 7 and uuid.UUID(v).variant == uuid.RFC_4122 for v in values)
    assert uuid7_ms(values[0]) == NOON
    assert NOON < uuid7_ms(values[-1]) <= NOON + 3  # 4,096 ids per borrowed ms


def test_uuid7_strictly_increases_when_the_clock_steps_back(frozen):
    first = uuid7()
    frozen.ms -= 60_000
    second = uuid7()
    assert second > first
    assert uuid7_ms(second) == NOON  # held at the latest ms issued


def test_uuid7_ms_is_the_creation_time(frozen):
    assert uuid7_ms(uuid7()) == NOON
    frozen.ms = NOON + 12_345
    assert uuid7_ms(uuid7()) == NOON + 12_345


@given(st.integers(0, 2**48 - 1))
def test_uuid7_ms_reads_any_48_bit_timestamp(ms):
    value = str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (0b10 << 62)))
    assert uuid7_ms(value) == ms


def test_ids_sort_by_creation_time(frozen):
    early = uuid7()
    frozen.ms += 1
    late = uuid7()
    assert early < late


# -- derived ids ----------------------------------------------------------------------------------


def test_derived_id_is_deterministic_and_version_8():
    value = derived_id("card", "note-1", "1")
    assert value == derived_id("card", "note-1", "1")
    parsed = uuid.UUID(value)
    assert parsed.version == 8
    assert parsed.variant == uuid.RFC_4122
    assert CANONICAL.match(value)


def test_derived_ids_are_pinned():
    """Stored rows (the default preset, stock note types, cards) refer to these ids; a change to
    the derivation would fork every existing collection from new devices."""
    assert derived_id("preset", "default") == "dcd2a09e-a291-81d2-9c6c-d37e481aba05"
    assert derived_id("card", "n1", "1") == "505576ae-bc05-8e45-889b-3266a5a72149"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("a", "bc"), ("ab", "c")),
        (("a", "b"), ("b", "a")),
        (("card", "n1", "1"), ("card", "n1", "2")),
        (("x",), ("x", "")),
        (("preset", "default"), ("preset", "Default")),
    ],
)
def test_derived_ids_differ_for_different_parts(a, b):
    assert derived_id(*a) != derived_id(*b)


parts = st.lists(st.text(alphabet=st.characters(exclude_characters="\x1f")), min_size=1, max_size=4)


@given(parts, parts)
def test_derived_ids_differ_whenever_the_parts_do(a, b):
    """Parts are joined with the unit separator (U+001F), which names and ids never contain."""
    assert (derived_id(*a) == derived_id(*b)) == (a == b)


def test_uuid7_ids_are_unique_and_valid_across_pool_refills():
    """The random part comes from a pool refilled every 4,096 ids; ids stay valid and unique."""
    values = [uuid7() for _ in range(20_000)]
    assert len(set(values)) == len(values)
    for value in values[4090:4100]:
        _assert_v7(value)


def test_a_forked_child_draws_fresh_randomness():
    """A gunicorn worker forked from a parent that made ids must not repeat its random digits."""
    import os

    uuid7()  # the parent's pool is filled
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        os.write(write, uuid7()[-12:].encode())
        os._exit(0)
    os.close(write)
    child_tail = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child_tail != uuid7()[-12:]

"""Tests cloze deletions: numbering, rendering on both sides, nesting, hints and bad markup."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flipdeck.core.cloze import cloze_answers, cloze_numbers, render_cloze

ACTIVE = "<span class=cloze>[...]</span>"
NESTED = "{{c1::outer {{c2::inner}} more}}"


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("no deletions here", set()),
        ("{{c1::a}}", {1}),
        ("{{c1::a}} {{c2::b}} {{c1::c}}", {1, 2}),  # Anki: c1, c2, c1 make two cards
        ("{{c3::a}} {{c10::b}}", {3, 10}),
        (NESTED, {1, 2}),
        ("{{c1::a {{c2::b {{c3::c}}}}}}", {1, 2, 3}),
        ("{{c0::zero}}", set()),
        ("{{cx::a}} {{c::b}} {{c-1::c}}", set()),
        ("{{c1::unclosed", set()),
        ("{{c1:: a }}", {1}),
        ("{{c1::answer::hint}}", {1}),
        ("{{C1::capital}}", set()),  # Anki's marker is lower-case only
    ],
)
def test_cloze_numbers(text, numbers):
    assert cloze_numbers(text) == numbers


@pytest.mark.parametrize(
    ("text", "number", "front", "back"),
    [
        ("{{c1::Paris}} is big", 1, f"{ACTIVE} is big", "<span class=cloze>Paris</span> is big"),
        ("{{c1::Paris}} is big", 2, "Paris is big", "Paris is big"),
        (
            "{{c1::Paris::city}} in {{c2::France}}",
            1,
            "<span class=cloze>[city]</span> in France",
            "<span class=cloze>Paris</span> in France",
        ),
        (
            "{{c1::Paris::city}} in {{c2::France}}",
            2,
            f"Paris in {ACTIVE}",
            "Paris in <span class=cloze>France</span>",
        ),
        # Two deletions with one number are both hidden on that card.
        (
            "{{c1::a}}-{{c1::b}}",
            1,
            f"{ACTIVE}-{ACTIVE}",
            "<span class=cloze>a</span>-<span class=cloze>b</span>",
        ),
        # Only the first "::" separates the hint; a second one belongs to the hint.
        ("{{c1::a::b::c}}", 1, "<span class=cloze>[b::c]</span>", "<span class=cloze>a</span>"),
        ("{{c1::a::}}", 1, ACTIVE, "<span class=cloze>a</span>"),  # empty hint: plain [...]
        ("{{c1::<b>bold</b>}}", 1, ACTIVE, "<span class=cloze><b>bold</b></span>"),
        ("{{c1::<b>bold</b>}}", 2, "<b>bold</b>", "<b>bold</b>"),
        (NESTED, 2, f"outer {ACTIVE} more", "outer <span class=cloze>inner</span> more"),
        (NESTED, 1, ACTIVE, "<span class=cloze>outer inner more</span>"),
        (NESTED, 3, "outer inner more", "outer inner more"),
        (
            "{{c1::outer {{c2::inner}} more::hint}}",
            1,
            "<span class=cloze>[hint]</span>",
            "<span class=cloze>outer inner more</span>",
        ),
        ("{{c0::zero}}", 0, "zero", "zero"),  # c0 is never a card, so never hidden
        # Unbalanced markup stays literal instead of losing the user's text.
        ("{{c1::unclosed", 1, "{{c1::unclosed", "{{c1::unclosed"),
        ("stray }} here", 1, "stray }} here", "stray }} here"),
        ("{{c1::a {{c2::b}}", 2, f"{{{{c1::a {ACTIVE}", "{{c1::a <span class=cloze>b</span>"),
        ("{{c1::a}}}}", 1, f"{ACTIVE}}}}}", "<span class=cloze>a</span>}}"),
        ("{{cx::a}}", 1, "{{cx::a}}", "{{cx::a}}"),
    ],
)
def test_render_cloze(text, number, front, back):
    assert render_cloze(text, number, "front") == front
    assert render_cloze(text, number, "back") == back


def test_render_cloze_rejects_an_unknown_side():
    """A typo in the side must fail loudly rather than silently show the answer."""
    with pytest.raises(ValueError, match="side"):
        render_cloze("{{c1::a}}", 1, "middle")


@pytest.mark.parametrize(
    ("text", "number", "answers"),
    [
        ("{{c1::a}} {{c2::b}} {{c1::c}}", 1, ["a", "c"]),
        ("{{c1::a}} {{c2::b}} {{c1::c}}", 2, ["b"]),
        ("{{c1::a::hint}}", 1, ["a"]),
        (NESTED, 1, ["outer inner more"]),
        (NESTED, 2, ["inner"]),
        ("{{c1::<i>x</i>}}", 1, ["<i>x</i>"]),
        ("{{c1::a}}", 5, []),
        ("{{c1::unclosed", 1, []),
    ],
)
def test_cloze_answers(text, number, answers):
    assert cloze_answers(text, number) == answers


def test_deep_nesting_beyond_the_limit_stays_text():
    """Anki stops nesting at ten levels; deeper openings are text and nothing crashes."""
    text = "".join(f"{{{{c{n}::" for n in range(1, 13)) + "x" + "}}" * 12
    assert cloze_numbers(text) == set(range(1, 11))
    assert render_cloze(text, 10, "back").startswith("<span class=cloze>{{c11")


_plain = st.text(alphabet="abc <>.", max_size=20)
_answer = st.text(alphabet="XYZ", min_size=1, max_size=10)  # no letter of the markup


@given(before=_plain, answer=_answer, after=_plain, other=_plain, n=st.integers(1, 5))
def test_front_hides_the_active_answer(before, answer, after, other, n):
    """The question must never give the answer away (the answer's letters occur nowhere else)."""
    m = n + 1
    text = f"{before}{{{{c{n}::{answer}}}}}{after}{{{{c{m}::{other}}}}}"
    front = render_cloze(text, n, "front")
    assert answer not in front
    assert other in front  # inactive deletions stay readable
    assert answer in render_cloze(text, n, "back")


@given(st.text(alphabet="{}:c12 ab", max_size=40), st.integers(0, 3))
def test_arbitrary_brace_soup_never_raises(text, number):
    """Fields are typed by hand, so any mix of braces must render without an exception."""
    assert isinstance(render_cloze(text, number, "front"), str)
    assert all(f"{{{{c{n}::" in text for n in cloze_numbers(text))

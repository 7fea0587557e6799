"""Tests for the search-language parser: the tree each term becomes, precedence, and errors
that point at the offending character (the CLI prints a caret under it)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flipdeck.core.errors import QueryError
from flipdeck.core.query import (
    And,
    Not,
    Or,
    Term,
    glob_pieces,
    has_wildcards,
    literal,
    parse,
)


def word(value: str) -> Term:
    return Term("text", "", value)


# -- the empty query -------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "\u3000"])
def test_empty_query_is_none(query):
    """An empty search box means "every card", which the store spells as no condition."""
    assert parse(query) is None


# -- terms -----------------------------------------------------------------------------------------

TERMS = {
    "dog": word("dog"),
    '"a dog"': word("a dog"),
    "d*g": word("d*g"),
    "d_g": word("d_g"),
    r"d\*g": word(r"d\*g"),
    r"d\_g": word(r"d\_g"),
    r"a\\b": word("a\\\\b"),
    r"say\"hi\"": word('say"hi"'),
    r"a\:b": word("a:b"),
    r"\-dog": word("-dog"),
    r"\(x\)": word("(x)"),
    r"\frac": word("\\\\frac"),
    "well-known": word("well-known"),
    ":colon": word(":colon"),
    '""': word(""),
    '"or"': word("or"),
    '"-dog"': word("-dog"),
    "École": word("École"),
    "front:cat": Term("field", "front", "cat"),
    "Front:*dog*": Term("field", "Front", "*dog*"),
    "front:": Term("field", "front", ""),
    '"back extra:x y"': Term("field", "back extra", "x y"),
    "fr*:x": Term("field", "fr*", "x"),
    r"de\ck:x": Term("field", "de\\\\ck", "x"),
    "deck:French": Term("deck", "", "French"),
    "DECK:French": Term("deck", "", "French"),
    '"deck:My Deck"': Term("deck", "", "My Deck"),
    'deck:"My Deck"': Term("deck", "", "My Deck"),
    "deck:Lang*": Term("deck", "", "Lang*"),
    "deck:A::B": Term("deck", "", "A::B"),
    "tag:geo::europe": Term("tag", "", "geo::europe"),
    "tag:none": Term("tag", "", "none"),
    "is:new": Term("is", "", "new"),
    "is:LEARN": Term("is", "", "learn"),
    "is:review": Term("is", "", "review"),
    "is:due": Term("is", "", "due"),
    "is:suspended": Term("is", "", "suspended"),
    "is:buried": Term("is", "", "buried"),
    "flag:0": Term("flag", "", 0),
    "flag:7": Term("flag", "", 7),
    "prop:ivl>=3": Term("prop", "ivl", 3, ">="),
    "prop:ivl<3": Term("prop", "ivl", 3, "<"),
    "prop:reps<=10": Term("prop", "reps", 10, "<="),
    "prop:lapses>2": Term("prop", "lapses", 2, ">"),
    "prop:due=-1": Term("prop", "due", -1, "="),
    "prop:due!=0": Term("prop", "due", 0, "!="),
    "prop:s>1.5": Term("prop", "s", 1.5, ">"),
    "prop:d<.5": Term("prop", "d", 0.5, "<"),
    "prop:D=7": Term("prop", "d", 7.0, "="),
    "rated:1": Term("rated", "", (1,)),
    "rated:7:3": Term("rated", "", (7, 3)),
    "added:30": Term("added", "", 30),
    "note:Basic*": Term("note", "", "Basic*"),
    'note:"Basic (and reversed)"': Term("note", "", "Basic (and reversed)"),
    "card:2": Term("card", "", "2"),
    'card:"Card 1"': Term("card", "", "Card 1"),
    "nid:a1,b2": Term("nid", "", ("a1", "b2")),
    "cid:x": Term("cid", "", ("x",)),
}


@pytest.mark.parametrize(("query", "expected"), TERMS.items(), ids=list(TERMS))
def test_term(query, expected):
    assert parse(query) == expected


def test_term_values_have_their_python_types():
    """The store binds these values as SQL parameters; an int must not arrive as a float."""
    assert type(parse("prop:ivl>3").value) is int
    assert type(parse("prop:s>3").value) is float
    assert type(parse("flag:2").value) is int


def test_positions_point_at_each_term():
    tree = parse('dog  -"a b" (deck:x or tag:y)')
    assert tree.children[0].position == 0
    assert tree.children[1].node.position == 6
    assert [t.position for t in tree.children[2].children] == [13, 23]


def test_position_is_not_part_of_equality():
    """Trees compare by meaning, so tests and callers can compare without positions."""
    assert Term("text", "", "a", position=3) == Term("text", "", "a", position=9)


# -- combinations and precedence -------------------------------------------------------------------

a, b, c, d = (word(x) for x in "abcd")

TREES = {
    "a b": And((a, b)),
    "a and b": And((a, b)),
    "a AND b": And((a, b)),
    "a or b": Or((a, b)),
    "a OR b": Or((a, b)),
    "a Or b or c": Or((a, b, c)),
    "a b c": And((a, b, c)),
    # AND binds tighter than OR (as in SQL, and in Anki, which hands the order to SQLite)
    "a b or c": Or((And((a, b)), c)),
    "a or b c": Or((a, And((b, c)))),
    "a and b or c and d": Or((And((a, b)), And((c, d)))),
    "a (b or c)": And((a, Or((b, c)))),
    "(a or b) (c or d)": And((Or((a, b)), Or((c, d)))),
    "((a))": a,
    "-a": Not(a),
    "-a b": And((Not(a), b)),
    "-(a or b)": Not(Or((a, b))),
    "--a": Not(Not(a)),
    "a -b or c": Or((And((a, Not(b))), c)),
    "a(b)": And((a, b)),
    '"a"b': word("ab"),
    'a"b c"d': word("ab cd"),
    "a\u3000b": And((a, b)),
}


@pytest.mark.parametrize(("query", "expected"), TREES.items(), ids=list(TREES))
def test_tree(query, expected):
    assert parse(query) == expected


# -- errors ----------------------------------------------------------------------------------------

ERRORS = [
    # (query, position, a phrase of the message)
    ("(a", 0, "never closed"),
    ("a (b or (c)", 2, "never closed"),
    ("a)", 1, "no matching"),
    (")", 0, "no matching"),
    ("(a))", 3, "no matching"),
    ("()", 1, "empty parentheses"),
    ("a ( )", 4, "empty parentheses"),
    ('"abc', 0, "quote"),
    ('a "b', 2, "quote"),
    ('deck:"My Deck', 5, "quote"),
    ("a or", 2, "'or'"),
    ("or a", 0, "'or'"),
    ("a or or b", 2, "'or'"),
    ("(a or)", 3, "'or'"),
    ("a and", 2, "'and'"),
    ("and a", 0, "'and'"),
    ("a and or b", 2, "'and'"),
    ("-", 0, "'-'"),
    ("a -", 2, "'-'"),
    ("a - b", 2, "'-'"),
    ("(-)", 1, "'-'"),
    ("-or a", 0, "'-'"),
    ("flag:9", 5, "0 to 7"),
    ("flag:", 5, "0 to 7"),
    ("flag:12", 5, "0 to 7"),
    ("is:nope", 3, "is:nope"),
    ("is:", 3, "unknown state"),
    ("prop:ivl>>3", 9, "not '>3'"),
    ("prop:foo>3", 5, "unknown property 'foo'"),
    ("prop:>3", 5, "missing property"),
    ("prop:ivl", 8, "expected one of"),
    ("prop:ivl3", 8, "expected one of"),
    ("prop:ivl>", 9, "whole number"),
    ("prop:ivl>1.5", 9, "whole number"),
    ("prop:due=x", 9, "whole number"),
    ("prop:s>abc", 7, "not a number"),
    ("prop:ivl>99999999999999999999", 9, "whole number"),
    ('"prop:ivl>>3"', 10, "not '>3'"),
    ("rated:x", 6, "number of days"),
    ("rated:0", 6, "number of days"),
    ("rated:-2", 6, "number of days"),
    ("rated:", 6, "number of days"),
    ("rated:3:5", 8, "1 to 4"),
    ("rated:3:", 8, "1 to 4"),
    ("added:x", 6, "number of days"),
    ("a added:0", 8, "number of days"),
    ("nid:", 4, "commas"),
    ("nid:a,,b", 6, "commas"),
    ("cid:a,", 6, "commas"),
]


@pytest.mark.parametrize(("query", "position", "phrase"), ERRORS, ids=[e[0] for e in ERRORS])
def test_error_position(query, position, phrase):
    with pytest.raises(QueryError) as caught:
        parse(query)
    assert caught.value.position == position
    assert phrase in caught.value.message
    assert caught.value.query == query


def test_deep_nesting_is_refused_not_a_crash():
    """A pasted or generated query must not overflow Python's stack."""
    for query in ["(" * 500 + "a" + ")" * 500, "-" * 500 + "a"]:
        with pytest.raises(QueryError, match="nested"):
            parse(query)
    assert parse("(" * 50 + "a" + ")" * 50) == a


PIECES = [*'ab :-()"\\*_<>=!,.0123', "or", "and", "is:", "prop:", "ivl", "rated:", "flag:"]


@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join) | st.text(max_size=40))
def test_any_text_parses_or_raises_query_error(query):
    """Whatever is typed, the user sees a tree or a pointed message, never a traceback."""
    try:
        tree = parse(query)
    except QueryError as error:
        assert 0 <= error.position <= len(query)
        assert error.message
    else:
        assert tree is None or isinstance(tree, Term | Not | And | Or)
        if tree is None:
            assert not query.strip()


# -- globs -----------------------------------------------------------------------------------------


def test_glob_pieces():
    assert list(glob_pieces(r"a*b_c\*d\_e\\f")) == [
        ("text", "a"),
        ("any", "*"),
        ("text", "b"),
        ("one", "_"),
        ("text", "c*d_e\\f"),
    ]


def test_wildcards_and_literal():
    assert has_wildcards("a*") and has_wildcards("_")
    assert not has_wildcards(r"a\*\_")
    assert literal(r"a\*\_\\") == "a*_\\"

"""Tests for searching a real SQLite collection: exactly which cards each kind of query finds.

The collection is built with raw SQL on a freshly migrated database, so these tests depend on
the schema only; ``notes.search`` is filled the way the store maintains it (fields stripped of
HTML, casefolded, joined by U+001F). Time is fixed and the calendar is UTC with a 04:00
rollover, so day boundaries are exact.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from flipdeck.core.days import Calendar
from flipdeck.core.errors import QueryError
from flipdeck.store import schema
from flipdeck.store.search import compile_query, find_cards, find_notes

CAL = Calendar("UTC", 4)
NOW = int(datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp() * 1000)
TODAY = CAL.day(NOW)
HOUR, DAY = 3_600_000, 86_400_000


def start(offset: int) -> int:
    """When the learning day ``offset`` days from today begins."""
    return CAL.start(TODAY + offset)


FIELDS = {
    "nt_basic": ["f_front", "f_back"],
    "nt_cloze": ["f_text", "f_extra"],
    "nt_vocab": ["f_vfront", "f_meaning"],
}


def build(conn: sqlite3.Connection) -> None:
    run = conn.execute
    for ntid, name, kind in [
        ("nt_basic", "Basic", "standard"),
        ("nt_cloze", "Cloze", "cloze"),
        ("nt_vocab", "Vocab", "standard"),
    ]:
        run("INSERT INTO notetypes(id, name, kind) VALUES (?, ?, ?)", (ntid, name, kind))
    for fid, ntid, name, ord_ in [
        ("f_front", "nt_basic", "Front", 0),
        ("f_back", "nt_basic", "Back", 1),
        ("f_text", "nt_cloze", "Text", 0),
        ("f_extra", "nt_cloze", "Back Extra", 1),
        ("f_vfront", "nt_vocab", "Front", 0),
        ("f_meaning", "nt_vocab", "Meaning", 1),
        ("f_gone", "nt_vocab", "Gone", 2),
    ]:
        run(
            "INSERT INTO nt_fields(id, notetype_id, name, ord, deleted) VALUES (?, ?, ?, ?, ?)",
            (fid, ntid, name, ord_, int(fid == "f_gone")),
        )
    for tid, ntid, name, ord_ in [
        ("t_card1", "nt_basic", "Card 1", 0),
        ("t_card2", "nt_basic", "Card 2", 1),
        ("t_cloze", "nt_cloze", "Cloze", 0),
        ("t_recog", "nt_vocab", "Recognition", 0),
    ]:
        run(
            "INSERT INTO nt_templates(id, notetype_id, name, ord, front, back)"
            " VALUES (?, ?, ?, ?, '', '')",
            (tid, ntid, name, ord_),
        )
    for did, name, deleted in [
        ("d_default", "Default", 0),
        ("d_lang", "Languages", 0),
        ("d_fr", "Languages::French", 0),
        ("d_geo", "Geo", 0),
        ("d_eu", "Geo::Europe", 0),
        ("d_geox", "GeoX", 0),
        ("d_old", "Old", 1),
    ]:
        run("INSERT INTO decks(id, name, deleted) VALUES (?, ?, ?)", (did, name, deleted))

    def note(nid, ntid, values, tags, created, deleted=0):
        fields = dict(zip(FIELDS[ntid], values, strict=False))
        search = "\x1f".join(
            html.unescape(re.sub("<[^>]*>", "", v)).casefold() for v in fields.values()
        )
        run(
            "INSERT INTO notes(id, notetype_id, guid, fields, tags, created, search, deleted)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (nid, ntid, nid, json.dumps(fields), tags, created, search, deleted),
        )

    note(
        "n1",
        "nt_basic",
        ["The <b>dog</b> barks", "chien"],
        " animals::mammals pets ",
        NOW - 10 * DAY,
    )
    note("n2", "nt_basic", ["&Eacute;cole", "school"], " Français ", NOW)
    note(
        "n3",
        "nt_cloze",
        ["{{c1::Paris}} is the capital of {{c2::France}}", "geo"],
        " geo::europe ",
        NOW - 40 * DAY,
    )
    note("n4", "nt_basic", ["cat", "100% sure_thing"], " ", NOW - 2 * DAY)
    note("n5", "nt_vocab", ["dig 10", "Straße"], " geography ", NOW - 5 * DAY)
    note("n6", "nt_basic", ["dog", "deleted note"], " pets ", NOW - 3 * DAY, deleted=1)
    note("n7", "nt_basic", ["mouse", "only a deleted card"], " pets ", NOW - 3 * DAY)
    # no Back at all; created in the first second Calendar.day counts as today
    note("n8", "nt_basic", ["blank"], " ", start(0) + 1000)

    def card(cid, nid, template, deck, **values):
        values = {"note_id": nid, "template": template, "deck_id": deck, **values}
        names = ", ".join(["id", *values])
        marks = ", ".join("?" * (len(values) + 1))
        run(f"INSERT INTO cards({names}) VALUES ({marks})", (cid, *values.values()))

    review = {"state": 2, "reps": 3}
    card(
        "c1a",
        "n1",
        "t_card1",
        "d_fr",
        state=2,
        due=start(0),
        interval=10,
        reps=5,
        lapses=1,
        stability=12.5,
        difficulty=5.0,
    )
    card("c1b", "n1", "t_card2", "d_fr")
    card("c2a", "n2", "t_card1", "d_lang", state=1, due=NOW, flag=3)
    card("c2b", "n2", "t_card2", "d_lang", state=3, due=NOW + 1, lapses=2)
    card(
        "c3_1",
        "n3",
        "c1",
        "d_eu",
        **review,
        due=start(-1),
        interval=30,
        stability=40.0,
        difficulty=7.5,
    )
    card("c3_2", "n3", "c2", "d_eu", **review, due=start(3), interval=5, suspended=1)
    card(
        "c4a",
        "n4",
        "t_card1",
        "d_geox",
        **review,
        due=start(1),
        interval=1,
        buried_until=NOW + HOUR,
        flag=1,
    )
    card("c4b", "n4", "t_card2", "d_default", buried_until=NOW - 1)
    card("c5", "n5", "t_recog", "d_default", **review, due=start(10) - 1, interval=20, flag=7)
    card("c6", "n6", "t_card1", "d_default")
    card("c7", "n7", "t_card1", "d_default", deleted=1)
    card("c8", "n8", "t_card1", "d_default")

    for rid, cid, rating, at in [
        ("r1", "c1a", 3, NOW - HOUR),
        ("r2", "c2a", 1, start(0) - HOUR),
        ("r3", "c3_1", 4, start(-5) + HOUR),
        ("r4", "c4a", 0, NOW - HOUR),  # a manual reschedule is not an answer
    ]:
        run(
            "INSERT INTO reviews(id, card_id, rating, reviewed_at, duration_ms, kind)"
            " VALUES (?, ?, ?, ?, 1000, 'review')",
            (rid, cid, rating, at),
        )


@pytest.fixture
def col(tmp_path):
    conn = sqlite3.connect(tmp_path / "c.db", isolation_level=None)
    schema.migrate(conn)
    build(conn)
    yield SimpleNamespace(conn=conn, _calendar=CAL)
    conn.close()


ALL = ["c1a", "c1b", "c2a", "c2b", "c3_1", "c3_2", "c4a", "c4b", "c5", "c8"]
BASIC = ["c1a", "c1b", "c2a", "c2b", "c4a", "c4b", "c8"]
LANG = ["c1a", "c1b", "c2a", "c2b"]


def but(*excluded: str) -> list[str]:
    return [c for c in ALL if c not in excluded]


CASES = {
    # empty
    "": ALL,
    "   ": ALL,
    # words
    "dog": ["c1a", "c1b"],
    "DOG": ["c1a", "c1b"],
    "ÉCOLE": ["c2a", "c2b"],
    "ecole": [],
    "Straße": ["c5"],
    "STRASSE": ["c5"],
    "barks chien": ["c1a", "c1b"],
    '"the dog"': ["c1a", "c1b"],
    '"dog the"': [],
    "d*g": ["c1a", "c1b", "c5"],
    "d_g": ["c1a", "c1b", "c5"],
    "do_g": [],
    "e_c": ["c3_1", "c3_2"],
    r"e\_c": [],
    r"e\_t": ["c4a", "c4b"],
    "100%": ["c4a", "c4b"],
    "0%*": ["c4a", "c4b"],
    "*": ALL,
    "o'neil": [],
    '"x\') OR 1=1 --"': [],
    # fields
    "front:cat": ["c4a", "c4b"],
    "FRONT:CAT": ["c4a", "c4b"],
    "front:ca": [],
    "front:*dog*": ["c1a", "c1b"],
    '"front:the dog barks"': ["c1a", "c1b"],
    "front:école": ["c2a", "c2b"],
    "front:dig*": ["c5"],
    "front:d*": ["c5"],
    "back:": ["c8"],
    "back:*": BASIC,
    '"back extra:geo"': ["c3_1", "c3_2"],
    "meaning:strasse": ["c5"],
    "nosuchfield:x": [],
    "gone:": [],
    "b*:geo": ["c3_1", "c3_2"],
    # decks
    "deck:Languages": LANG,
    "deck:languages::french": ["c1a", "c1b"],
    'deck:"Languages::French"': ["c1a", "c1b"],
    "deck:Geo": ["c3_1", "c3_2"],
    "deck:Lang*": LANG,
    "deck:*": ALL,
    "deck:Nope": [],
    "deck:Old": [],
    "-deck:Languages": but(*LANG),
    # tags
    "tag:animals": ["c1a", "c1b"],
    "tag:animals::mammals": ["c1a", "c1b"],
    "tag:animals::*": ["c1a", "c1b"],
    "tag:mammals": [],
    "tag:*mammals": ["c1a", "c1b"],
    "tag:pets": ["c1a", "c1b"],
    "tag:geo": ["c3_1", "c3_2"],
    "tag:geo*": ["c3_1", "c3_2", "c5"],
    "tag:FRANÇAIS": ["c2a", "c2b"],
    "tag:none": ["c4a", "c4b", "c8"],
    "-tag:none": but("c4a", "c4b", "c8"),
    # states
    "is:new": ["c1b", "c4b", "c8"],
    "is:learn": ["c2a", "c2b"],
    "is:review": ["c1a", "c2b", "c3_1", "c3_2", "c4a", "c5"],
    "is:due": ["c1a", "c2a", "c3_1"],
    "is:suspended": ["c3_2"],
    "is:buried": ["c4a"],
    # flags
    "flag:3": ["c2a"],
    "flag:1": ["c4a"],
    "flag:7": ["c5"],
    "flag:0": but("c2a", "c4a", "c5"),
    # properties
    "prop:ivl>=10": ["c1a", "c3_1", "c5"],
    "prop:ivl=1": ["c4a"],
    "prop:ivl!=0": ["c1a", "c3_1", "c3_2", "c4a", "c5"],
    "prop:ivl<5": but("c1a", "c3_1", "c3_2", "c5"),
    "prop:reps>4": ["c1a"],
    "prop:lapses>=1": ["c1a", "c2b"],
    "prop:s>20": ["c3_1"],
    "prop:s<=12.5": ["c1a"],
    "-prop:s>20": but("c3_1"),
    "prop:d>6": ["c3_1"],
    "prop:due=0": ["c1a"],
    "prop:due=-1": ["c3_1"],
    "prop:due=1": ["c4a"],
    "prop:due=9": ["c5"],
    "prop:due<=3": ["c1a", "c3_1", "c3_2", "c4a"],
    "prop:due<3": ["c1a", "c3_1", "c4a"],
    "prop:due>3": ["c5"],
    "prop:due>=3": ["c3_2", "c5"],
    "prop:due!=0": ["c3_1", "c3_2", "c4a", "c5"],
    "prop:due<=-2": [],
    "prop:due<99999999": ["c1a", "c3_1", "c3_2", "c4a", "c5"],
    # history
    "rated:1": ["c1a"],
    "rated:2": ["c1a", "c2a"],
    "rated:2:1": ["c2a"],
    "rated:2:3": ["c1a"],
    "rated:5": ["c1a", "c2a"],
    "rated:6": ["c1a", "c2a", "c3_1"],
    "rated:6:4": ["c3_1"],
    "rated:99999999": ["c1a", "c2a", "c3_1"],
    "added:1": ["c2a", "c2b", "c8"],
    "added:2": ["c2a", "c2b", "c8"],
    "added:3": ["c2a", "c2b", "c4a", "c4b", "c8"],
    "added:99999999": ALL,
    # note types, card types, ids
    "note:basic": BASIC,
    "note:cl*": ["c3_1", "c3_2"],
    "note:Vocab": ["c5"],
    "note:nope": [],
    'card:"Card 1"': ["c1a", "c2a", "c4a", "c8"],
    "card:card*": BASIC,
    "card:2": ["c3_2"],
    "card:1": ["c3_1"],
    "card:cloze": ["c3_1", "c3_2"],
    "card:recognition": ["c5"],
    "nid:n1,n4": ["c1a", "c1b", "c4a", "c4b"],
    "nid:n6,n7": [],
    "cid:c2a,c5": ["c2a", "c5"],
    "cid:nope": [],
    # combinations
    "dog or cat": ["c1a", "c1b", "c4a", "c4b"],
    "dog cat or école": ["c2a", "c2b"],
    "dog (cat or école)": [],
    "cat or école dog": ["c4a", "c4b"],
    "-is:new deck:Languages": ["c1a", "c2a", "c2b"],
    "deck:Languages and -is:review": ["c1b", "c2a"],
    "-(dog or cat)": but("c1a", "c1b", "c4a", "c4b"),
    "-dog -cat": but("c1a", "c1b", "c4a", "c4b"),
    "(is:due or is:buried) -flag:3": ["c1a", "c3_1", "c4a"],
    "--dog": ["c1a", "c1b"],
}


@pytest.mark.parametrize(("query", "expected"), CASES.items(), ids=list(CASES))
def test_finds(col, query, expected):
    assert sorted(find_cards(col, query, now=NOW)) == sorted(expected)


def test_cards_come_in_note_then_template_order(col):
    assert find_cards(col, "deck:Languages", now=NOW) == ["c1a", "c1b", "c2a", "c2b"]
    assert find_cards(col, "deck:Languages", now=NOW, order="c.id DESC") == [
        "c2b",
        "c2a",
        "c1b",
        "c1a",
    ]


def test_find_notes_is_distinct_and_oldest_first(col):
    """Notes without a live card (deleted note, deleted card) are not found."""
    assert find_notes(col, "", now=NOW) == ["n3", "n1", "n5", "n4", "n8", "n2"]
    assert find_notes(col, "deck:Languages", now=NOW) == ["n1", "n2"]
    assert find_notes(col, "nosuchword", now=NOW) == []


def test_empty_query_compiles_to_true(col):
    assert compile_query(col, "  ", now=NOW) == ("1", [])


def test_user_text_is_bound_never_spliced(col):
    where, params = compile_query(col, "o'neil front:\"x'y\" tag:a'b deck:z'z", now=NOW)
    assert "'neil" not in where and "x'y" not in where and "a'b" not in where
    assert "o'neil" in params and "x'y" in params


def test_rated_agrees_with_the_calendar_at_the_rollover(col):
    """An answer belongs to the learning day Calendar.day says, even in the cutoff's second."""
    for at in (start(0) - 1, start(0), start(0) + 999, start(0) + 1000, start(0) + 1001):
        col.conn.execute("DELETE FROM reviews")
        col.conn.execute(
            "INSERT INTO reviews(id, card_id, rating, reviewed_at, kind)"
            " VALUES ('r', 'c8', 2, ?, 'review')",
            (at,),
        )
        found = "c8" in find_cards(col, "rated:1", now=NOW)
        assert found == (CAL.day(at) == TODAY), at


def test_days_follow_the_collection_calendar(col):
    """Days come from the collection's zone and rollover, not from UTC."""
    col._calendar = Calendar("Pacific/Auckland", 0)  # NOW is 01:00 on 11 March there
    # c1a is due 17:00 on 10 March and c4a 17:00 on 11 March, Auckland time
    assert find_cards(col, "prop:due=0", now=NOW) == ["c4a"]
    assert find_cards(col, "prop:due=-1", now=NOW) == ["c1a"]
    assert sorted(find_cards(col, "is:due", now=NOW)) == ["c1a", "c2a", "c3_1", "c4a"]


def test_query_errors_reach_the_caller(col):
    with pytest.raises(QueryError) as caught:
        find_cards(col, "deck:x (dog", now=NOW)
    assert caught.value.position == 7


def test_searching_while_another_statement_runs(col):
    """Registering SQL functions again mid-iteration would fail; they are registered once."""
    find_cards(col, "front:cat", now=NOW)
    cursor = col.conn.execute("SELECT id FROM cards")
    cursor.fetchone()
    assert find_cards(col, "front:cat tag:none", now=NOW) == ["c4a", "c4b"]
    assert find_cards(col, "front:cat", now=NOW) == ["c4a", "c4b"]
    assert cursor.fetchone() is not None


def test_functions_registered_on_a_new_connection(col, tmp_path):
    """Each connection needs its own registration (a second open of the same file)."""
    other = sqlite3.connect(tmp_path / "c.db", isolation_level=None)
    try:
        fresh = SimpleNamespace(conn=other, _calendar=CAL)
        assert find_cards(fresh, "tag:pets front:*dog*", now=NOW) == ["c1a", "c1b"]
    finally:
        other.close()

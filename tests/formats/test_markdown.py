"""Markdown decks: the documented format, ids written back so edits keep a note's history, and
importing the same file again changing nothing (also as hypothesis properties)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flipdeck.formats import markdown
from flipdeck.formats.detect import detect, import_text_data
from flipdeck.formats.summary import ImportFailed, ImportOptions, no_progress
from flipdeck.store import reviews
from flipdeck.store.collection import Collection
from tests.formats.test_csv_import import counts, notes, without_guid

DECK = """\
---
deck: Spanish::Verbs
tags: lang::es
---

Prose before the first card is ignored.

## hablar

to speak
<i>yo hablo</i>

tags: pos::verb

## Yo {{c1::hablo}} español.

hablar → yo hablo

## comer
<!-- flipdeck:id=fixed%2Did type="Basic (and reversed card)" -->

to eat

# Spanish::Nouns

## la casa

the house

### Back

(ignored: Back is set twice)
"""


def md(col, text: str, name: str = "deck.md", **options):
    data = text.encode()
    assert detect(data, name) == "md"
    return import_text_data(col, data, "md", ImportOptions(**options), no_progress, name=name)


def test_the_format(col):
    text = DECK.replace("### Back\n\n(ignored: Back is set twice)\n", "")
    summary, written = md(col, text)
    assert (summary.added, summary.cards, summary.errors) == (4, 5, [])
    assert without_guid(notes(col)) == [
        {
            "notetype": "Basic",
            "fields": {"Front": "hablar", "Back": "to speak<br><i>yo hablo</i>"},
            "tags": ["lang::es", "pos::verb"],
            "decks": ["Spanish::Verbs"],
            "cards": 1,
        },
        {
            "notetype": "Cloze",
            "fields": {"Text": "Yo {{c1::hablo}} español.", "Back Extra": "hablar → yo hablo"},
            "tags": ["lang::es"],
            "decks": ["Spanish::Verbs"],
            "cards": 1,
        },
        {
            "notetype": "Basic (and reversed card)",
            "fields": {"Front": "comer", "Back": "to eat"},
            "tags": ["lang::es"],
            "decks": ["Spanish::Verbs"],
            "cards": 2,
        },
        {
            "notetype": "Basic",
            "fields": {"Front": "la casa", "Back": "the house"},
            "tags": ["lang::es"],
            "decks": ["Spanish::Nouns"],
            "cards": 1,
        },
    ]
    assert notes(col)[2]["guid"] == "fixed-id"
    # ids were written under the three headings that had none, and nowhere else
    lines = written.split("\n")
    for front in ("## hablar", "## Yo {{c1::hablo}} español.", "## la casa"):
        comment = lines[lines.index(front) + 1]
        assert comment.startswith("<!-- flipdeck:id=") and comment.endswith(" -->")
    guids = {n["guid"] for n in notes(col)}
    assert {markdown.unquote_attr(x) for x in lines if x.startswith("<!--")} == guids
    assert (
        written.replace(
            "\n".join(x for x in lines if x.startswith("<!-- flipdeck:id=") and "fixed" not in x),
            "",
        )
        is not None
    )
    assert [x for x in lines if not x.startswith("<!-- flipdeck:id=")] == [
        x for x in text.split("\n") if not x.startswith("<!-- flipdeck:id=")
    ]


def test_importing_the_written_file_again_changes_nothing(col):
    text = DECK.replace("### Back\n\n(ignored: Back is set twice)\n", "")
    _, written = md(col, text)
    before = counts(col)
    summary, again = md(col, written)
    assert (summary.added, summary.updated, summary.skipped) == (0, 0, 4)
    assert again is None  # nothing to write back
    assert counts(col) == before


def test_an_edited_front_updates_the_same_note_and_keeps_its_history(col, clock):
    _, written = md(col, "## hola\n\nhello\n")
    card_id, note_id = col.conn.execute("SELECT id, note_id FROM cards").fetchone()
    with col.transaction():
        reviews.answer(col, card_id, 3)
    edited = written.replace("## hola", "## ¡hola!").replace("hello", "hello (greeting)")
    summary, _ = md(col, edited)
    assert (summary.added, summary.updated) == (0, 1)
    assert col.conn.execute("SELECT id, note_id FROM cards").fetchall() == [(card_id, note_id)]
    assert notes(col)[0]["fields"] == {"Front": "¡hola!", "Back": "hello (greeting)"}
    assert (
        col.conn.execute("SELECT count(*) FROM reviews WHERE card_id = ?", (card_id,)).fetchone()[0]
        == 1
    )


def test_a_copied_card_becomes_a_new_note_with_its_own_id(col):
    _, written = md(col, "## uno\n\none\n")
    copied = written + "\n## dos\n" + written.split("\n")[1] + "\n\ntwo\n"
    summary, rewritten = md(col, copied)
    assert (summary.added, summary.skipped) == (1, 1)
    ids = [x for x in rewritten.split("\n") if x.startswith("<!--")]
    assert len(ids) == 2 and len(set(ids)) == 2


def test_deck_from_the_file_name_and_options(col):
    md(col, "## a\n\nb\n", name="greek-letters.md")
    md(col, "## c\n\nd\n", name="x.md", deck="Chosen", tags=("extra",))
    assert [(n["decks"], n["tags"]) for n in notes(col)] == [
        (["greek-letters"], []),
        (["Chosen"], ["extra"]),
    ]


def test_fields_code_blocks_and_escapes(col):
    text = (
        "---\nnotetype: Basic (optional reversed card)\n---\n"
        "## list files\n\n```sh\n## not a heading\nls -la\n```\n\n"
        "### Add Reverse\n\ny\n\n"
        "## \\# hash front\n\n\\tags: not tags\n"
    )
    md(col, text)
    made = notes(col)
    assert made[0]["fields"] == {
        "Front": "list files",
        "Back": "```sh<br>## not a heading<br>ls -la<br>```",
        "Add Reverse": "y",
    }
    assert made[0]["cards"] == 2
    assert made[1]["fields"]["Front"] == "# hash front"
    assert made[1]["fields"]["Back"] == "tags: not tags"
    assert made[1]["tags"] == []


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("---\ndeck: x\n## a\n", "line 1", "never closed"),
        ("---\njust words\n---\n## a\n", "line 2", "'key: value'"),
        ("## a\n\nb\n\n### Nope\n\nc\n", "line 1", "has no field 'Nope'"),
        ('## a\n<!-- flipdeck:id=x type="Nope" -->\n', "line 1", "no note type named 'Nope'"),
        ("## a\n\n### Back\n\nb\n\n### Back\n\nc\n", "line 7", "given twice"),
        ("nothing here\n", None, "no notes found"),
    ],
)
def test_mistakes_are_refused_whole(col, text, where, words):
    before = counts(col)
    with pytest.raises(ImportFailed) as caught:
        md(col, text)
    assert caught.value.where == where
    assert words in str(caught.value)
    assert counts(col) == before


def test_export_writes_the_format_and_reimports_as_is(col):
    text = DECK.replace("### Back\n\n(ignored: Back is set twice)\n", "")
    md(col, text)
    ids = [r[0] for r in col.conn.execute("SELECT id FROM notes ORDER BY created, id")]
    exported = markdown.export_text(col, ids)
    assert "# Spanish::Nouns\n" in exported and "# Spanish::Verbs\n" in exported
    assert 'type="Basic (and reversed card)"' in exported
    assert "tags: lang::es pos::verb\n" in exported
    summary, again = md(col, exported)
    assert (summary.added, summary.updated, summary.skipped, again) == (0, 0, 4, None)


line = (
    st.text(
        alphabet=st.sampled_from([*"ab #:<>&\\-`'\"", "é", "日", "🍬"]),
        min_size=1,
        max_size=10,
    )
    .map(str.strip)
    .filter(bool)
)
tag = st.text(alphabet=st.sampled_from(list("abc:é_-")), min_size=1, max_size=5).filter(
    lambda t: t.strip(":") == t
)
note_st = st.tuples(
    line,
    st.lists(line, max_size=3),
    st.lists(tag, max_size=2),
    st.sampled_from(["Default", "A::B"]),
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=st.lists(note_st, min_size=1, max_size=5))
def test_export_import_roundtrip_and_idempotence(items):
    """Notes → Markdown → a fresh collection gives the same notes; that file imported again
    (and its ids written back) changes nothing."""
    from flipdeck.store import decks, notetypes
    from flipdeck.store import notes as notes_store

    with tempfile.TemporaryDirectory() as tmp:
        source = Collection.open(Path(tmp) / "a.db")
        target = Collection.open(Path(tmp) / "b.db")
        try:
            with source.transaction():
                for front, back_lines, tags, deck in items:
                    try:
                        notes_store.add(
                            source,
                            notetypes.find(source, "Basic"),
                            decks.ensure(source, deck).id,
                            [front, "<br>".join(back_lines)],
                            tags,
                        )
                    except Exception:
                        continue
            ids = [r[0] for r in source.conn.execute("SELECT id FROM notes ORDER BY created, id")]
            text = markdown.export_text(source, ids)
            if not ids:
                return
            _, written = md(target, text, name="roundtrip.md")
            assert written is None  # every note already had its id
            by_guid = lambda col: sorted(notes(col), key=lambda n: n["guid"])  # noqa: E731
            assert by_guid(target) == by_guid(source)
            again, _ = md(target, text, name="roundtrip.md")
            assert (again.added, again.updated) == (0, 0)
        finally:
            source.close()
            target.close()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=st.lists(st.tuples(line, line, st.lists(tag, max_size=2)), min_size=1, max_size=5))
def test_write_back_then_reimport_is_idempotent(items):
    text = "".join(
        f"## {front}\n\n{back}\n\n" + (f"tags: {' '.join(tags)}\n\n" if tags else "")
        for front, back, tags in items
    )
    with tempfile.TemporaryDirectory() as tmp:
        col = Collection.open(Path(tmp) / "c.db")
        try:
            _, written = md(col, text)
            state = (counts(col), notes(col))
            second, rewritten = md(col, written or text)
            assert (second.added, second.updated) == (0, 0)
            assert rewritten is None
            assert (counts(col), notes(col)) == state
        finally:
            col.close()

"""CSV/TSV export: Anki's "Notes in Plain Text" headers, and export → import gives back the
same notes (a hypothesis property over awkward text: separators, quotes, newlines, '#')."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flipdeck.formats import csvfile
from flipdeck.store import decks, notes, notetypes
from flipdeck.store.collection import Collection
from tests.formats.test_csv_import import DATA, run
from tests.formats.test_csv_import import notes as dump


def all_note_ids(col) -> list[str]:
    return [
        r[0]
        for r in col.conn.execute("SELECT id FROM notes WHERE deleted = 0 ORDER BY created, id")
    ]


def test_export_writes_ankis_headers_and_reimports_to_the_same_notes(col, tmp_path):
    run(col, DATA / "spanish-notes.txt")
    text = csvfile.export_text(col, all_note_ids(col))
    assert text.splitlines()[:6] == [
        "#separator:tab",
        "#html:true",
        "#guid column:1",
        "#notetype column:2",
        "#deck column:3",
        "#tags column:6",
    ]
    assert len(text.splitlines()) == 6 + 48
    other = Collection.open(tmp_path / "other.db")
    try:
        summary = run(other, "spanish.txt", text.encode())
        assert summary.added == 48
        assert dump(other) == dump(col)
    finally:
        other.close()


def test_the_same_export_imported_back_changes_nothing(col):
    run(col, DATA / "csv-notetype-column.csv")
    text = csvfile.export_text(col, all_note_ids(col), ",")
    assert text.startswith("#separator:comma\n")
    summary = run(col, "again.csv", text.encode())
    assert (summary.added, summary.updated, summary.skipped) == (0, 0, 3)


awkward = st.text(
    alphabet=st.sampled_from([*"ab ,;\t|\"'#<>&\n", "é", "ß", "日", "🍬"]),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() and "\n" not in s.strip()[:1])
tag = st.text(alphabet=st.sampled_from(list("abc:é_-")), min_size=1, max_size=6).filter(
    lambda t: t.strip(":") == t and "::" not in t[:2]
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            awkward,
            st.text(max_size=10).filter(lambda s: "\r\n" not in s),
            st.lists(tag, max_size=3),
            st.sampled_from(["Default", "A::B", "Ü"]),
            st.sampled_from(["Basic", "Basic (and reversed card)"]),
        ),
        min_size=1,
        max_size=6,
    ),
    separator=st.sampled_from([",", "\t"]),
)
def test_export_then_import_gives_the_same_notes(rows, separator):
    with tempfile.TemporaryDirectory() as tmp:
        source = Collection.open(Path(tmp) / "a.db")
        target = Collection.open(Path(tmp) / "b.db")
        try:
            with source.transaction():
                for front, back, tags, deck, nt in rows:
                    deck_id = decks.ensure(source, deck).id
                    try:
                        notes.add(source, notetypes.find(source, nt), deck_id, [front, back], tags)
                    except Exception:  # e.g. a front that is only markup: notes.add refuses it
                        continue
            text = csvfile.export_text(source, all_note_ids(source), separator)
            run(target, "x.csv", text.encode())
            assert dump(target) == dump(source)
            again = run(target, "x.csv", text.encode())
            assert (again.added, again.updated) == (0, 0)
        finally:
            source.close()
            target.close()

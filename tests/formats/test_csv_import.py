"""CSV/TSV import against the Anki-made fixtures in the shared data folder: each file must give
the notes Anki 26.9.3 made from it (README.md / expected.json beside them), the damaged ones a
clear error naming the place and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flipdeck.formats.detect import detect, import_text_data
from flipdeck.formats.summary import ImportFailed, ImportOptions, no_progress
from flipdeck.store import notetypes

# the shared fixtures beside the checkout (../shared/data/anki), wherever it is
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "anki"
if not DATA.exists():
    DATA = Path("/work/shared/data/anki")
EXPECTED = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))["files"]
PLAIN = sorted(
    name
    for name in EXPECTED
    if name.startswith("csv-")
    and "notes_created" in EXPECTED[name]
    and "if-matches" not in name
    and "bad" not in name
)


def run(col, path: Path | str, text: bytes | None = None, **options):
    """Import a file (or ``text`` under that name) as `flipdeck import` does."""
    path = Path(path)
    data = path.read_bytes() if text is None else text
    summary, _written = import_text_data(
        col,
        data,
        detect(data, path.name),
        ImportOptions(**options),
        no_progress,
        name=path.name,
        explicit_policy="on_duplicate" in options,
    )
    return summary


def notes(col) -> list[dict]:
    """Every live note as the fixtures describe them, in creation order."""
    out = []
    rows = col.conn.execute(
        "SELECT id, notetype_id, guid, fields, tags FROM notes WHERE deleted = 0"
        " ORDER BY created, id"
    ).fetchall()
    for note_id, nt_id, guid, fields, tags in rows:
        nt = notetypes.load(col, nt_id)
        values = json.loads(fields)
        decks = [
            r[0]
            for r in col.conn.execute(
                "SELECT DISTINCT d.name FROM cards c JOIN decks d ON d.id = c.deck_id"
                " WHERE c.note_id = ? AND c.deleted = 0 ORDER BY d.name",
                (note_id,),
            )
        ]
        cards = col.conn.execute(
            "SELECT count(*) FROM cards WHERE note_id = ? AND deleted = 0", (note_id,)
        ).fetchone()[0]
        out.append(
            {
                "notetype": nt.name,
                "fields": {f.name: values.get(f.id, "") for f in nt.fields},
                "tags": sorted(tags.split()),
                "decks": decks,
                "cards": cards,
                "guid": guid,
            }
        )
    return out


def counts(col) -> tuple[int, int, int, int]:
    return tuple(
        col.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("notes", "cards", "changes", "decks")
    )


def without_guid(items: list[dict]) -> list[dict]:
    return [{k: v for k, v in item.items() if k != "guid"} for item in items]


@pytest.mark.parametrize("name", PLAIN)
def test_each_fixture_gives_the_notes_anki_made(col, name):
    expected = EXPECTED[name]
    summary = run(col, DATA / name)
    made = notes(col)
    want = [{**n, "tags": sorted(n["tags"])} for n in expected["notes_created"]]
    assert without_guid(made) == [{k: v for k, v in n.items() if k != "guid"} for n in want]
    assert summary.added == expected["anki_import_log"]["new"]
    assert (summary.updated, summary.skipped, summary.errors) == (0, 0, [])
    assert summary.cards == sum(n["cards"] for n in want)
    for got, n in zip(made, want, strict=True):
        if "guid" in n:
            assert got["guid"] == n["guid"]


def test_the_fixture_list_covers_every_directive():
    assert len(PLAIN) == 17
    text = "".join((DATA / n).read_text(encoding="utf-8", errors="replace") for n in PLAIN)
    for directive in (
        "#separator:",
        "#html:",
        "#columns:",
        "#deck:",
        "#notetype:",
        "#tags:",
        "#tags column:",
        "#deck column:",
        "#notetype column:",
        "#guid column:",
    ):
        assert directive in text


def test_the_guid_file_imported_again_changes_nothing(col):
    run(col, DATA / "csv-guid-column.csv")
    before = counts(col)
    again = run(col, DATA / "csv-guid-column.csv")
    assert (again.added, again.updated, again.skipped) == (0, 0, 3)  # Anki: duplicate 3
    assert counts(col) == before


def test_ankis_notes_in_plain_text_export(col):
    expected = EXPECTED["spanish-notes.txt"]
    summary = run(col, DATA / "spanish-notes.txt")
    made = notes(col)
    assert summary.added == expected["anki_import_log"]["new"] == 48
    assert summary.cards == expected["cards_created"] == 61
    by_type: dict[str, int] = {}
    by_deck: dict[str, int] = {}
    for n in made:
        by_type[n["notetype"]] = by_type.get(n["notetype"], 0) + 1
        for d in n["decks"]:
            by_deck[d] = by_deck.get(d, 0) + 1
    assert by_type == expected["created_by_notetype"]
    assert by_deck == expected["created_by_deck"]
    hablar = next(n for n in made if n["guid"] == "QgrV|3`~Ni")
    assert hablar["fields"] == {
        "Front": "hablar",
        "Back": "to speak<br><i>yo hablo, tú hablas</i>",
    }
    assert hablar["tags"] == ["lang::es", "level::a1", "pos::verb"]
    before = counts(col)
    again = run(col, DATA / "spanish-notes.txt")
    assert (again.added, again.updated, again.skipped) == (0, 0, 48)  # Anki: duplicate 48
    assert counts(col) == before


@pytest.fixture
def spanish(col):
    """The Spanish deck (from Anki's plain-text export of it): its Basic note `hablar` is the
    one the #if matches fixtures collide with."""
    run(col, DATA / "spanish-notes.txt")
    return col


def _new_since(col, before: set[str]) -> list[dict]:
    return [n for n in notes(col) if n["guid"] not in before]


@pytest.mark.parametrize(
    "name",
    [
        "csv-if-matches-update-current.csv",
        "csv-if-matches-keep-current.csv",
        "csv-if-matches-keep-both.csv",
    ],
)
def test_if_matches_directives(spanish, name):
    col = spanish
    expected = EXPECTED[name]
    guids = {n["guid"] for n in notes(col)}
    hablar_before = next(n for n in notes(col) if n["guid"] == "QgrV|3`~Ni")
    summary = run(col, DATA / name)
    created = _new_since(col, guids)
    assert without_guid(created) == [
        {**n, "tags": sorted(n["tags"])} for n in expected["notes_created"]
    ]
    # Anki logs a kept-both duplicate as a "first field match", not as new; both are added
    assert summary.added == len(expected["notes_created"])
    hablar = next(n for n in notes(col) if n["guid"] == "QgrV|3`~Ni")
    changed = expected.get("existing_notes_changed", [])
    if changed:
        assert summary.updated == 1
        want = changed[0]
        assert hablar == {**want, "tags": sorted(want["tags"])}
    else:
        assert summary.updated == 0
        assert hablar == hablar_before


def test_an_option_wins_over_the_files_if_matches(spanish):
    summary = run(spanish, DATA / "csv-if-matches-update-current.csv", on_duplicate="skip")
    assert (summary.added, summary.updated, summary.skipped) == (1, 0, 1)


BAD = {
    "csv-bad-unterminated-quote.csv": ("line 4, column 1", "quoted field is never closed"),
    "csv-bad-column-count.csv": ("line 5, column 2", "this row has 1 column(s), but the header"),
    "csv-bad-unknown-directive.csv": ("line 2", "unknown header directive '#frobnicate:'"),
    "csv-bad-non-utf8.csv": ("line 2, column 6", "is not UTF-8 text (byte 0xF3)"),
    "csv-bad-empty.csv": (None, "is empty"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_are_refused_whole_with_the_place(spanish, name):
    col = spanish
    before = counts(col)
    where, words = BAD[name]
    with pytest.raises(ImportFailed) as caught:
        run(col, DATA / name)
    assert caught.value.where == where
    assert words in str(caught.value)
    assert counts(col) == before


def test_every_bad_fixture_is_covered():
    assert sorted(BAD) == sorted(n for n in EXPECTED if n.startswith("csv-bad"))


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("#separator:Comma\n#deck column:banana\na,b\n", "line 2", "needs a column number"),
        ("#separator:Comma\n#notetype:No Such Notetype\na,b\n", "line 2", "no note type named"),
        ("#separator:Nope\na,b\n", "line 1", "#separator: must be"),
        ("#html:maybe\na,b\n", "line 1", "#html: must be true or false"),
        ("#separator:Comma\n#guid column:5\na,b\n", "line 2", "the rows have 2 column(s)"),
        ('#separator:Comma\na,"b"c\n', "line 2, column 2", "text follows the closing quote"),
        ("#separator:Comma\n", None, "no rows to import"),
        ("#separator:Tab\n#notetype column:1\nNope\ta\tb\n", "line 3, column 1", "no note type"),
    ],
)
def test_header_and_row_mistakes(col, text, where, words):
    before = counts(col)
    with pytest.raises(ImportFailed) as caught:
        run(col, "x.csv", text.encode())
    assert caught.value.where == where
    assert words in str(caught.value)
    assert counts(col) == before


def test_an_absurdly_large_field_is_refused_with_its_place(col):
    big = "x" * 1_000_001
    text = f"#separator:Comma\nok,fine\nfront,{big}\n".encode()
    before = counts(col)
    with pytest.raises(ImportFailed) as caught:
        run(col, "big.csv", text)
    assert caught.value.where == "line 3, column 2"
    assert "1,000,001 characters, more than the 1,000,000" in str(caught.value)
    assert counts(col) == before


def test_a_large_field_within_the_limit_is_fine(col):
    big = "x" * 200_000  # above Python's csv default limit of 131,072
    summary = run(col, "big.csv", f"#separator:Comma\nfront,{big}\n".encode())
    assert summary.added == 1
    assert notes(col)[0]["fields"]["Back"] == big


def test_rows_that_cannot_be_notes_are_listed_and_the_rest_imported(col):
    text = b"#separator:Comma\ngato,cat\n,nothing in front\n#not a header now,x\n"
    summary = run(col, "x.csv", text)
    assert summary.added == 2
    assert summary.errors == ["line 3: the first field (Front) is empty; skipped"]
    assert [n["fields"]["Front"] for n in notes(col)] == ["gato", "#not a header now"]


def test_a_cloze_row_without_a_deletion_is_an_error_row(col):
    text = b"#separator:Tab\n#notetype:Cloze\nno deletion here\textra\n"
    summary = run(col, "x.tsv", text)
    assert summary.added == 0
    assert summary.errors == [
        "line 3: a Cloze note needs a deletion such as {{c1::answer}}; skipped"
    ]


def test_options_for_files_without_headers(col):
    text = b"cat;gato;animal\ndog;perro;animal::pet\n"
    summary = run(
        col,
        "plain.txt",
        text,
        deck="Lang::ES",
        notetype="Basic (and reversed card)",
        fields=("Back", "Front", "Tags"),
        delimiter=";",
        tags=("imported",),
    )
    assert (summary.added, summary.cards, summary.decks) == (2, 4, 2)
    assert without_guid(notes(col)) == [
        {
            "notetype": "Basic (and reversed card)",
            "fields": {"Front": "gato", "Back": "cat"},
            "tags": ["animal", "imported"],
            "decks": ["Lang::ES"],
            "cards": 2,
        },
        {
            "notetype": "Basic (and reversed card)",
            "fields": {"Front": "perro", "Back": "dog"},
            "tags": ["animal::pet", "imported"],
            "decks": ["Lang::ES"],
            "cards": 2,
        },
    ]


def test_the_separator_is_guessed_from_the_first_row(col):
    run(col, "x", b"uno\tone\ndos\ttwo\n")
    assert [n["fields"] for n in notes(col)] == [
        {"Front": "uno", "Back": "one"},
        {"Front": "dos", "Back": "two"},
    ]


@pytest.mark.parametrize(
    ("policy", "result", "backs"),
    [
        ("update", (1, 1, 1), ["cat (edited)", "dog", "bird"]),
        ("skip", (1, 0, 2), ["cat", "dog", "bird"]),
        ("add", (3, 0, 0), ["cat", "dog", "cat (edited)", "dog", "bird"]),
    ],
)
def test_duplicate_policies(col, policy, result, backs):
    run(col, "a.csv", b"#separator:Comma\ngato,cat\nperro,dog\n")
    summary = run(
        col,
        "a.csv",
        b"#separator:Comma\ngato,cat (edited)\nperro,dog\npajaro,bird\n",
        on_duplicate=policy,
    )
    assert (summary.added, summary.updated, summary.skipped) == result
    assert [n["fields"]["Back"] for n in notes(col)] == backs


def test_an_update_keeps_the_note_and_its_cards(col):
    run(col, "a.csv", b"#separator:Comma\ngato,cat\n")
    note_id, card = col.conn.execute("SELECT note_id, id FROM cards").fetchone()
    run(col, "a.csv", b"#separator:Comma\ngato,cat (edited)\n")
    assert col.conn.execute("SELECT note_id, id FROM cards").fetchall() == [(note_id, card)]
    assert notes(col)[0]["fields"]["Back"] == "cat (edited)"


def test_rows_repeating_a_first_field_are_all_added_and_reimport_is_a_no_op(col):
    text = b"#separator:Comma\ngato,cat\ngato,a second meaning\n"
    assert run(col, "a.csv", text).added == 2  # as Anki
    before = counts(col)
    again = run(col, "a.csv", text)
    assert (again.added, again.updated, again.skipped) == (0, 0, 2)
    assert counts(col) == before


def test_first_field_matching_is_within_the_note_type(col):
    run(col, "a.csv", b"#separator:Comma\ngato,cat\n")
    summary = run(
        col, "b.csv", b"#separator:Comma\n#notetype:Basic (and reversed card)\ngato,cat\n"
    )
    assert summary.added == 1


def test_match_scope_deck(col):
    run(col, "a.csv", b"#separator:Comma\n#deck:One\ngato,cat\n")
    text = b"#separator:Comma\n#deck:Two\n#match scope:notetype + deck\ngato,cat (two)\n"
    assert run(col, "b.csv", text).added == 1
    text = b"#separator:Comma\n#deck:One\n#match scope:notetype + deck\ngato,cat (one)\n"
    assert run(col, "b.csv", text).updated == 1


def test_tags_column_replaces_tags_on_update_global_tags_add(col):
    run(col, "a.csv", b"#separator:Comma\n#tags column:3\ngato,cat,old keep\n")
    run(col, "a.csv", b"#separator:Comma\n#tags column:3\ngato,cat,keep new\n")
    assert notes(col)[0]["tags"] == ["keep", "new"]
    run(col, "a.csv", b"#separator:Comma\n#tags:extra\ngato,cat\n")
    assert notes(col)[0]["tags"] == ["extra", "keep", "new"]


def test_dry_run_reports_and_writes_nothing(col):
    before = counts(col)
    summary = run(col, DATA / "csv-notetype-deck-tags.csv", dry_run=True)
    assert (summary.added, summary.cards, summary.decks, summary.dry_run) == (3, 6, 2, True)
    assert counts(col) == before
    real = run(col, DATA / "csv-notetype-deck-tags.csv")
    assert (real.added, real.cards, real.decks, real.dry_run) == (3, 6, 2, False)


def test_repeated_tags_are_kept_once_and_reimport_is_a_no_op(col):
    text = b"#separator:Comma\n#tags:x X\n#tags column:3\ngato,cat,a A b a\n"
    run(col, "t.csv", text)
    assert notes(col)[0]["tags"] == ["a", "b", "x"]
    again = run(col, "t.csv", text)
    assert (again.added, again.updated, again.skipped) == (0, 0, 1)


def test_progress_is_reported_up_to_the_total(col):
    calls = []
    rows = "".join(f"front {i},back\n" for i in range(2500))
    data = f"#separator:Comma\n{rows}".encode()
    import_text_data(col, data, "csv", ImportOptions(), lambda d, t: calls.append((d, t)))
    assert calls[0] == (1000, 2500) and calls[-1] == (2500, 2500)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_a_bad_delimiter_option_and_an_unknown_type_option(col):
    with pytest.raises(ImportFailed) as caught:
        run(col, "x.csv", b"a;;b\n", delimiter=";;")
    assert "--delimiter must be" in str(caught.value)
    with pytest.raises(ImportFailed) as caught:
        run(col, "x.csv", b"a,b\n", notetype="Nope")
    assert caught.value.where is None and "no note type named 'Nope'" in str(caught.value)


def test_an_update_that_implies_new_cards_creates_them(col):
    run(col, "c.tsv", b"#separator:Tab\n#notetype:Cloze\n#guid column:1\ng1\t{{c1::uno}} dos\tx\n")
    assert notes(col)[0]["cards"] == 1
    summary = run(
        col,
        "c.tsv",
        b"#separator:Tab\n#notetype:Cloze\n#guid column:1\ng1\t{{c1::uno}} {{c2::dos}}\tx\n",
    )
    assert (summary.updated, summary.cards) == (1, 1)
    assert notes(col)[0]["cards"] == 2


def test_an_update_that_would_leave_no_card_is_refused(col):
    run(col, "c.tsv", b"#separator:Tab\n#notetype:Cloze\n#guid column:1\ng1\t{{c1::uno}}\tx\n")
    summary = run(col, "c.tsv", b"#separator:Tab\n#notetype:Cloze\n#guid column:1\ng1\tuno\tx\n")
    assert (summary.updated, summary.errors) == (
        0,
        ["line 4: a Cloze note needs a deletion such as {{c1::answer}}; skipped"],
    )
    assert notes(col)[0]["fields"]["Text"] == "{{c1::uno}}"


def test_columns_can_name_the_tags_deck_and_guid_columns(col):
    text = b"#separator:Comma\n#columns:GUID,Back,Deck,Front,Tags\ng-1,cat,Zoo::Cats,gato,pet\n"
    run(col, "c.csv", text)
    assert notes(col) == [
        {
            "notetype": "Basic",
            "fields": {"Front": "gato", "Back": "cat"},
            "tags": ["pet"],
            "decks": ["Zoo::Cats"],
            "cards": 1,
            "guid": "g-1",
        }
    ]

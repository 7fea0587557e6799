"""`flipdeck import`: detection, the summary (also as --json), dry runs, Markdown write-back,
and bad files as a clear message with the documented exit code, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

# the shared fixtures beside the checkout (../shared/data/anki), wherever it is
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "anki"
if not DATA.exists():
    DATA = Path("/work/shared/data/anki")


def note_count(cli) -> int:
    return len(cli.ok("note", "list", "", "--json").json())


def test_import_a_csv_and_again(cli):
    out = cli.ok("import", str(DATA / "spanish-notes.txt"), "--json").json()
    assert out == {
        "format": "csv",
        "added": 48,
        "updated": 0,
        "skipped": 0,
        "cards": 61,
        "reviews": 0,
        "media": 0,
        "decks": 3,
        "notetypes": 0,
        "dry_run": False,
        "errors": [],
    }
    again = cli.ok("import", str(DATA / "spanish-notes.txt"))
    assert again.stdout == ""
    assert "0 added, 0 updated, 48 skipped; 0 card(s)." in again.stderr
    assert {d["name"] for d in cli.decks()} >= {"Spanish", "Spanish::Verbs", "Spanish::Nouns"}


def test_options_for_a_headerless_file_from_stdin(cli):
    cli.ok("deck", "create", "Words")
    out = cli.ok(
        "import",
        "-",
        "--deck",
        "Words",
        "--type",
        "Basic (and reversed card)",
        "--fields",
        "Back,Front",
        "--delimiter",
        "comma",
        "--tags",
        "a b",
        "--json",
        input="one,uno\ntwo,dos\n",
    ).json()
    assert (out["added"], out["cards"]) == (2, 4)
    listed = cli.ok("note", "list", "deck:Words", "--json").json()
    assert len(listed) == 2


def test_dry_run_says_what_would_happen(cli):
    out = cli.ok("import", str(DATA / "csv-notetype-deck-tags.csv"), "--dry-run", "--json").json()
    assert (out["added"], out["cards"], out["decks"], out["dry_run"]) == (3, 6, 2, True)
    assert note_count(cli) == 0
    human = cli.ok("import", str(DATA / "csv-notetype-deck-tags.csv"), "-n")
    assert "Would import" in human.stderr and "3 added" in human.stderr


@pytest.mark.parametrize(
    ("policy", "expected"), [("update", (0, 1, 0)), ("skip", (0, 0, 1)), ("add", (1, 0, 0))]
)
def test_on_duplicate(cli, policy, expected, tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("#separator:Comma\ngato,cat\n", encoding="utf-8")
    cli.ok("import", str(f))
    f.write_text("#separator:Comma\ngato,feline\n", encoding="utf-8")
    out = cli.ok("import", str(f), "--on-duplicate", policy, "--json").json()
    assert (out["added"], out["updated"], out["skipped"]) == expected


def test_markdown_ids_are_written_back(cli, tmp_path):
    deck = tmp_path / "greetings.md"
    deck.write_text("## hola\n\nhello\n\n## adiós\n\ngoodbye\n", encoding="utf-8")
    first = cli.ok("import", str(deck))
    assert "Wrote note ids into" in first.stderr
    text = deck.read_text(encoding="utf-8")
    assert text.count("<!-- flipdeck:id=") == 2
    again = cli.ok("import", str(deck), "--json").json()
    assert (again["added"], again["skipped"]) == (0, 2)
    assert deck.read_text(encoding="utf-8") == text
    assert {d["name"] for d in cli.decks()} >= {"greetings"}


def test_no_write_back_leaves_the_file(cli, tmp_path):
    deck = tmp_path / "d.md"
    deck.write_text("## a\n\nb\n", encoding="utf-8")
    cli.ok("import", str(deck), "--no-write-back")
    assert deck.read_text(encoding="utf-8") == "## a\n\nb\n"


def test_rows_with_errors_are_reported(cli, tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("#separator:Comma\ngato,cat\n,empty front\n", encoding="utf-8")
    out = cli("import", str(f))
    assert out.exit_code == 0
    assert "warning: line 3: the first field (Front) is empty; skipped" in out.stderr
    assert "1 added" in out.stderr and "1 with errors" in out.stderr


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("csv-bad-unterminated-quote.csv", "line 4, column 1: this quoted field is never closed"),
        ("csv-bad-non-utf8.csv", "line 2, column 6: csv-bad-non-utf8.csv is not UTF-8 text"),
        ("csv-bad-column-count.csv", "line 5, column 2: this row has 1 column(s)"),
        ("csv-bad-empty.csv", "csv-bad-empty.csv is empty"),
    ],
)
def test_bad_files_fail_cleanly(cli, name, message):
    out = cli("import", str(DATA / name))
    assert out.exit_code == 1
    assert out.stderr.startswith(f"error: {message.replace(name, str(DATA / name))}")
    assert "hint: Nothing was imported" in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert note_count(cli) == 0


def test_a_bad_file_as_json_error(cli):
    out = cli("import", str(DATA / "csv-bad-unknown-directive.csv"), "--json")
    assert out.exit_code == 1
    error = out.error()
    assert error["code"] == "invalid_input"
    assert error["message"].startswith("line 2: unknown header directive '#frobnicate:'")


def test_unreadable_file_and_unknown_options(cli, tmp_path):
    missing = cli("import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1 and "cannot read" in missing.stderr
    bad = cli("import", str(DATA / "csv-columns.csv"), "--on-duplicate", "merge")
    assert bad.exit_code == 1 and "--on-duplicate must be update, skip or add" in bad.stderr
    fmt = cli("import", str(DATA / "csv-columns.csv"), "--format", "xlsx")
    assert fmt.exit_code == 1 and "unknown format 'xlsx'" in fmt.stderr


def test_the_real_process_exits_1_without_a_traceback(run):
    out = run("import", str(DATA / "csv-bad-unterminated-quote.csv"))
    assert out.exit_code == 1
    assert out.stderr == (
        "error: line 4, column 1: this quoted field is never closed (CSV: unexpected end of"
        " data)\nhint: Nothing was imported; fix the file and run it again.\n"
    )


def test_a_package_goes_to_the_apkg_importer(cli):
    out = cli("import", str(DATA / "genanki-basic.apkg"), "--json")
    try:
        import flipdeck.formats.apkg  # noqa: F401
    except ImportError:
        assert out.exit_code == 1
        assert "Anki packages (.apkg/.colpkg) cannot be imported" in out.error()["message"]
    else:
        assert out.exit_code == 0, out.stderr
        assert out.json()["added"] == 20


def test_markdown_from_stdin_is_imported_but_not_rewritten(cli):
    out = cli("import", "-", "--format", "md", input="## uno\n\none\n")
    assert out.exit_code == 0
    assert "Note ids were not written back (the file came from stdin)." in out.stderr
    assert note_count(cli) == 1

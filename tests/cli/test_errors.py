"""Mistakes and bad files, through the real entry point: a message on stderr (JSON with
--json), a documented exit code, nothing on stdout, no traceback, and nothing changed."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time

import pytest

from flipdeck import __version__
from flipdeck.cli.output import EXIT_CODES
from flipdeck.store import schema


def snapshot(home) -> dict[str, bytes]:
    """Every file in FLIPDECK_HOME with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(home.iterdir())}


@pytest.fixture
def made(home):
    """A collection with a deck Lang holding one Basic note, uno/one (built in-process, which
    is quicker than two more subprocesses)."""
    from flipdeck.paths import collection_path
    from flipdeck.store import decks, notes, notetypes
    from flipdeck.store.collection import Collection

    with Collection.open(collection_path()) as col, col.transaction():
        deck = decks.create(col, "Lang")
        notes.add(col, notetypes.find(col, "Basic"), deck.id, ["uno", "one"])
    return home / "collection.db"


# -- mistakes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["deck", "show", "Nope"],
        ["add", "--deck", "Nope", "a", "b"],
        ["study", "Nope"],
        ["due", "Nope"],
        ["deck", "delete", "Nope", "--yes"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_unknown_deck(run, made, args):
    outcome = run(*args)
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert outcome.stderr.startswith("error: no deck named 'Nope'\n")
    assert "hint: Decks: Default, Lang." in outcome.stderr


def test_unknown_card(run, made):
    outcome = run("card", "show", "0123456789abcdef")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert outcome.stderr == (
        "error: no card with id 0123456789abcdef\nhint: Find card ids with `flipdeck card list`.\n"
    )


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("(dog", 0, "this '(' is never closed"),
        ("tag:x (dog", 6, "this '(' is never closed"),
        ("dog)", 3, "this ')' has no matching '('"),
        ('deck:"Lang', 5, "this quote is never closed"),
        ("prop:ivl>x", 9, "expected a whole number, not 'x'"),
        ("is:bogus", 3, "unknown state 'is:bogus'"),
    ],
)
def test_invalid_query_says_where(run, made, query, column, message):
    """Exit 2 and a caret under the offending character."""
    outcome = run("card", "list", query)
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    lines = outcome.stderr.splitlines()
    assert lines[0] == f"  {query}"
    assert lines[1] == "  " + " " * column + "^"
    assert lines[2].startswith(f"error: {message}")
    assert lines[3] == "hint: See `flipdeck help search` for the query language."


def test_invalid_query_json(run, made):
    outcome = run("card", "list", "(dog", "--json")
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    assert outcome.error() == {
        "code": "invalid_query",
        "message": "this '(' is never closed",
        "hint": "See `flipdeck help search` for the query language.",
        "position": 0,
    }


def test_invalid_query_in_any_command(run, made):
    outcome = run("card", "suspend", "tag:x (", "--json")
    assert outcome.exit_code == 2
    assert outcome.error()["code"] == "invalid_query"
    assert run("card", "list", "is:suspended", "--json").stdout == "[]\n"


def test_json_errors_are_json_on_stderr(run, made):
    outcome = run("deck", "show", "Nope", "--json")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    error = outcome.error()
    assert error["code"] == "not_found"
    assert error["message"] == "no deck named 'Nope'"
    assert error["hint"].startswith("Decks: Default, Lang.")


def test_empty_result_is_success(run, made):
    outcome = run("card", "list", "tag:nothing", "--json")
    assert outcome.exit_code == 0
    assert outcome.stdout == "[]\n"
    assert outcome.stderr == ""


def test_empty_required_field(run, made):
    outcome = run("add", "--deck", "Lang", "", "back")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert outcome.stderr == "error: the first field (Front) is empty\n"
    assert len(run("card", "list", "--json").json()) == 1


def test_name_taken(run, made):
    outcome = run("deck", "create", "Lang", "--json")
    assert outcome.exit_code == 1
    assert outcome.error()["code"] == "conflict"


def test_usage_error_exit_2(run, made):
    outcome = run("card", "list", "--frobnicate")
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    assert "No such option: --frobnicate" in outcome.stderr
    assert "Traceback" not in outcome.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["add", "--from", "/nonexistent/notes.tsv"],
        ["review", "--from", "/nonexistent/answers.txt"],
        ["config", "get", "nope"],
        ["card", "set-due", "uno", "someday"],
        ["card", "flag", "uno", "12"],
        ["notetype", "create", "X"],
        ["deck", "config", "Lang", "--learning-steps", "soon"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_no_traceback_for_a_users_mistake(run, made, args):
    outcome = run(*args)
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert outcome.stderr.startswith("error: ")
    assert "Traceback" not in outcome.stderr


def test_exit_codes_are_the_documented_ones(run):
    lines = run("help", "exit-codes").stdout.splitlines()
    assert lines == [f"{code}\t{text}" for code, text in EXIT_CODES.items()]


# -- the collection file -----------------------------------------------------------------------


def test_corrupt_collection(run, home):
    """Junk bytes: exit 6 and a clear message; the file is left exactly as it was."""
    home.mkdir(parents=True, exist_ok=True)
    junk = bytes(range(256)) * 64
    (home / "collection.db").write_bytes(junk)
    for args in (["deck", "list"], ["add", "a", "b"]):
        outcome = run(*args)
        assert outcome.exit_code == 6
        assert outcome.stdout == ""
        assert "is not a readable flipdeck collection" in outcome.stderr
        assert "hint: Nothing was changed." in outcome.stderr
        assert "Traceback" not in outcome.stderr
    assert snapshot(home) == {"collection.db": junk}


def test_corrupt_collection_json(run, home):
    home.mkdir(parents=True, exist_ok=True)
    (home / "collection.db").write_bytes(b"this is not SQLite at all\n" * 200)
    outcome = run("card", "list", "--json")
    assert outcome.exit_code == 6
    assert outcome.stdout == ""
    assert outcome.error()["code"] == "collection_unavailable"


def test_some_other_sqlite_database(run, home):
    home.mkdir(parents=True, exist_ok=True)
    path = home / "collection.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.commit()
    conn.close()
    before = snapshot(home)
    outcome = run("deck", "list")
    assert outcome.exit_code == 6
    assert "is an SQLite database but not a flipdeck collection" in outcome.stderr
    assert snapshot(home) == before


def test_collection_from_a_newer_flipdeck(run, made, home):
    """A newer schema is refused, naming both versions, and the file is not touched."""
    conn = sqlite3.connect(made)
    conn.execute("PRAGMA user_version = 99")
    conn.execute("UPDATE meta SET value = '9.1.0' WHERE key = 'written_by'")
    conn.commit()
    conn.close()
    before = snapshot(home)
    outcome = run("deck", "list")
    assert outcome.exit_code == 6
    assert outcome.stdout == ""
    message = outcome.stderr.splitlines()[0]
    assert "written by flipdeck 9.1.0 (schema 99)" in message
    assert f"this is flipdeck {__version__} (schema {schema.LATEST})" in message
    assert outcome.stderr.splitlines()[-1].startswith("hint: Upgrade flipdeck")
    assert snapshot(home) == before


def test_locked_collection(run, made):
    """A write while another program holds the write lock waits (3 s), then exits 6 with
    nothing changed; reads still work meanwhile."""
    holder = sqlite3.connect(made, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        reading = run("deck", "list")
        started = time.monotonic()
        outcome = run("deck", "create", "Blocked")
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert reading.exit_code == 0
    assert "Lang" in reading.stdout
    assert outcome.exit_code == 6
    assert outcome.stdout == ""
    assert "is locked by another program" in outcome.stderr
    assert "hint: Wait for the other flipdeck command to finish" in outcome.stderr
    assert waited >= 2.5
    assert "Blocked" not in run("deck", "list").stdout


def test_ctrl_c_outside_study(spawn, run, made):
    """Ctrl-C while a command waits for input exits 130 with one line, nothing added."""
    proc = spawn(
        "add",
        "--from",
        "-",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdin.write("dos\ttwo\n")
    proc.stdin.flush()
    time.sleep(1.0)  # let it start and block reading the rest of stdin
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert out == ""
    assert err.strip() == "Interrupted; nothing half-written was kept."
    assert [c["question"] for c in run("card", "list", "--json").json()] == ["uno"]

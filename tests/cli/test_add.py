"""`flipdeck add`: one note from arguments, or many from tab-separated lines, all or nothing."""

from __future__ import annotations

import os
import pty
import subprocess

import pytest


def notes(cli, query: str = "") -> list[dict]:
    return cli.ok("note", "list", query, "--json").json()


@pytest.fixture
def transactions(monkeypatch) -> list[int]:
    """Counts the outermost transactions commands open (nested ones join them)."""
    from flipdeck.store.collection import Collection

    opened: list[int] = []
    original = Collection.transaction

    def counting(self):
        if not self._depth:
            opened.append(1)
        return original(self)

    monkeypatch.setattr(Collection, "transaction", counting)
    return opened


def test_add_one_note(cli):
    cli.ok("deck", "create", "Lang")
    outcome = cli("add", "--deck", "Lang", "hola", "hello", "--tags", "greet es")
    assert outcome.exit_code == 0
    assert outcome.stdout == ""
    assert outcome.stderr == "Added 1 note(s), 1 card(s) to Lang.\n"
    [note] = notes(cli)
    assert note["fields"] == {"Front": "hola", "Back": "hello"}
    assert note["tags"] == ["greet", "es"]
    assert note["notetype"] == "Basic"
    card = cli.card(note["card_ids"][0])
    assert (card["deck"], card["state"], card["note_id"]) == ("Lang", "new", note["id"])


def test_add_json_and_default_deck(cli):
    data = cli.ok("add", "hola", "hello", "--json").json()
    assert len(data) == 1
    assert set(data[0]) == {"note_id", "card_ids"}
    assert len(data[0]["card_ids"]) == 1
    assert cli.card(data[0]["card_ids"][0])["deck"] == "Default"


def test_add_with_type_makes_its_cards(cli):
    data = cli.ok("add", "--type", "Basic (and reversed card)", "hola", "hello", "--json").json()
    assert len(data[0]["card_ids"]) == 2
    questions = sorted(cli.card(cid)["question"] for cid in data[0]["card_ids"])
    assert questions == ["hello", "hola"]


def test_add_cloze(cli):
    data = cli.ok(
        "add", "-t", "Cloze", "{{c1::Paris}} is the capital of {{c2::France}}", "--json"
    ).json()
    assert len(data[0]["card_ids"]) == 2
    labels = sorted(cli.card(cid)["card"] for cid in data[0]["card_ids"])
    assert labels == ["Cloze 1", "Cloze 2"]


def test_cloze_without_deletion_is_refused(cli):
    outcome = cli("add", "-t", "Cloze", "no deletions here")
    assert outcome.exit_code == 1
    assert "would have no cards" in outcome.stderr
    assert notes(cli) == []


def test_add_from_stdin_adds_every_line_in_one_transaction(cli, transactions):
    cli.ok("deck", "create", "Lang")
    transactions.clear()
    outcome = cli(
        "add",
        "--deck",
        "Lang",
        "--from",
        "-",
        "--tags",
        "num",
        input="uno\tone\ndos\ttwo\n\ntres\tthree\n",
    )
    assert outcome.exit_code == 0
    assert outcome.stderr == "Added 3 note(s), 3 card(s) to Lang.\n"
    assert len(transactions) == 1
    found = notes(cli, "tag:num")
    assert [n["fields"]["Front"] for n in found] == ["uno", "dos", "tres"]
    assert [n["fields"]["Back"] for n in found] == ["one", "two", "three"]


def test_add_from_stdin_json(cli):
    data = cli.ok("add", "--from", "-", "--json", input="a\tb\nc\td\n").json()
    assert len(data) == 2
    assert all(len(item["card_ids"]) == 1 for item in data)
    assert sorted(n["id"] for n in notes(cli)) == sorted(item["note_id"] for item in data)


def test_bad_line_adds_nothing_and_names_the_line(cli):
    """One bad line (an empty first field on line 3) and none of the lines is added."""
    outcome = cli("add", "--from", "-", input="uno\tone\ndos\ttwo\n\tthree\ncuatro\tfour\n")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert outcome.stderr == (
        "error: line 3: the first field (Front) is empty; nothing was added\n"
    )
    assert notes(cli) == []


def test_line_numbers_count_blank_lines(cli):
    """The line named is the line in the user's file, blank lines included."""
    outcome = cli("add", "--from", "-", input="a\tb\n\n\tc\n")
    assert outcome.exit_code == 1
    assert "line 3:" in outcome.stderr
    assert notes(cli) == []


def test_too_many_fields_on_a_line(cli):
    outcome = cli("add", "--from", "-", "--json", input="a\tb\nc\td\te\n")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    error = outcome.error()
    assert error["code"] == "invalid_input"
    assert error["message"].startswith("line 2: 3 values given but 'Basic' has 2 fields")
    assert notes(cli) == []


def test_add_from_file(cli, tmp_path):
    source = tmp_path / "notes.tsv"
    source.write_text("perro\tdog\ngato\tcat\n", encoding="utf-8")
    outcome = cli("add", "--from", str(source))
    assert outcome.exit_code == 0
    assert outcome.stderr == "Added 2 note(s), 2 card(s) to Default.\n"
    assert sorted(n["fields"]["Front"] for n in notes(cli)) == ["gato", "perro"]


def test_add_from_missing_file(cli, tmp_path):
    outcome = cli("add", "--from", str(tmp_path / "missing.tsv"))
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "error: cannot read" in outcome.stderr
    assert "No such file" in outcome.stderr


def test_add_from_file_not_utf8(cli, tmp_path):
    source = tmp_path / "latin1.tsv"
    source.write_bytes("café\tcoffee\n".encode("latin-1"))
    outcome = cli("add", "--from", str(source))
    assert outcome.exit_code == 1
    assert "is not UTF-8 text" in outcome.stderr
    assert notes(cli) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add"], "give the field values, or --from -"),
        (["add", "a", "b", "--from", "-"], "give either field values or --from, not both"),
        (["add", ""], "the first field (Front) is empty"),
        (["add", "  ", "back"], "the first field (Front) is empty"),
        (["add", "--deck", "Nope", "a", "b"], "no deck named 'Nope'"),
        (["add", "--type", "Nope", "a", "b"], "no note type named 'Nope'"),
        (["add", "a", "b", "c"], "3 values given but 'Basic' has 2 fields"),
    ],
    ids=["nothing", "both", "empty", "blank", "deck", "type", "too-many"],
)
def test_refused(cli, args, message):
    outcome = cli(*args)
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert f"error: {message}" in outcome.stderr
    assert notes(cli) == []


def test_from_stdin_typed_at_a_terminal(spawn, run):
    """Typed by hand rather than piped, `--from -` says how to finish instead of hanging."""
    master, slave = pty.openpty()
    proc = spawn("add", "--from", "-", stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(slave)
    try:
        os.write(master, b"hola\thello\n\x04")
        _out, err = proc.communicate(timeout=30)
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert err.decode().splitlines() == [
        "Reading from the terminal, one item per line; end with Ctrl-D.",
        "Added 1 note(s), 1 card(s) to Default.",
    ]
    assert [c["question"] for c in run("card", "list", "--json").json()] == ["hola"]

"""`flipdeck note …`: list, show, edit (with --field or in $EDITOR), tag, untag and delete."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest


@pytest.fixture
def two_notes(cli) -> list[dict]:
    cli.add_notes("Lang", ("hola", "hello"), tags="greet es")
    cli.add_notes("Lang", ("perro", "dog"), tags="animal es")
    return cli.ok("note", "list", "--json").json()


def test_list_json_shape(cli, two_notes, clock):
    first = two_notes[0]
    assert set(first) == {"id", "guid", "notetype", "fields", "tags", "created", "card_ids"}
    assert first["fields"] == {"Front": "hola", "Back": "hello"}
    assert first["tags"] == ["greet", "es"]
    assert first["notetype"] == "Basic"
    created = datetime.fromtimestamp(clock.ms / 1000, UTC)
    assert first["created"] == created.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(first["guid"]) == 10
    assert cli.card(first["card_ids"][0])["note_id"] == first["id"]


def test_list_query(cli, two_notes):
    found = cli.ok("note", "list", "tag:animal", "--json").json()
    assert [n["fields"]["Front"] for n in found] == ["perro"]
    assert cli.ok("note", "list", "tag:nothing", "--json").stdout == "[]\n"


def test_list_piped_is_tab_separated(cli, two_notes):
    lines = cli.ok("note", "list").stdout.splitlines()
    assert [line.split("\t")[1:] for line in lines] == [
        ["Basic", "hola", "greet es"],
        ["Basic", "perro", "animal es"],
    ]
    assert [line.split("\t")[0] for line in lines] == [n["id"] for n in two_notes]


@pytest.mark.parametrize("how", ["note id", "card id", "query"])
def test_show_by_id_card_or_query(cli, two_notes, how):
    note = two_notes[1]
    ref = {"note id": note["id"], "card id": note["card_ids"][0], "query": "front:perro"}[how]
    assert cli.ok("note", "show", ref, "--json").json() == note


def test_show_piped(cli, two_notes):
    rows = dict(line.split("\t") for line in cli.ok("note", "show", "hola").stdout.splitlines())
    assert rows == {
        "Front": "hola",
        "Back": "hello",
        "Tags": "greet es",
        "Type": "Basic",
        "Id": two_notes[0]["id"],
        "Cards": two_notes[0]["card_ids"][0],
    }


def test_show_unknown(cli, two_notes):
    outcome = cli("note", "show", "front:nothing")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "error: no notes match 'front:nothing'" in outcome.stderr


def test_edit_with_field_options(cli, two_notes):
    outcome = cli("note", "edit", "hola", "--field", "Back=hi", "-f", "Front=¡hola!")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Saved.\n"
    note = cli.ok("note", "show", two_notes[0]["id"], "--json").json()
    assert note["fields"] == {"Front": "¡hola!", "Back": "hi"}
    assert cli.card(note["card_ids"][0])["question"] == "¡hola!"


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("Nope=x", "note type 'Basic' has no field 'Nope'"),
        ("Front=", "the first field (Front) cannot be emptied"),
        ("Front", "expected NAME=VALUE"),
    ],
)
def test_edit_refused(cli, two_notes, field, message):
    outcome = cli("note", "edit", "hola", "--field", field)
    assert outcome.exit_code == 1
    assert message in outcome.stderr
    assert cli.ok("note", "show", "hola", "--json").json() == two_notes[0]


def test_edit_many_at_once_refused(cli, two_notes):
    outcome = cli("note", "edit", "tag:es", "--field", "Back=x")
    assert outcome.exit_code == 1
    assert "2 notes match" in outcome.stderr


def test_edit_in_editor(cli, two_notes, editor):
    """$EDITOR gets one section per field plus Tags; what it saves becomes the note."""
    command, seen = editor(("hello", "hello there"), ("greet es", "greet"))
    outcome = cli("note", "edit", "hola", env={"EDITOR": command})
    assert outcome.exit_code == 0
    assert outcome.stderr == "Saved.\n"
    [shown] = seen()
    assert "## Front\nhola\n" in shown
    assert "## Back\nhello\n" in shown
    assert "## Tags\ngreet es\n" in shown
    note = cli.ok("note", "show", "hola", "--json").json()
    assert note["fields"] == {"Front": "hola", "Back": "hello there"}
    assert note["tags"] == ["greet"]


def test_flipdeck_editor_wins_over_editor(cli, two_notes, editor):
    mine, mine_seen = editor(("hello", "mine"))
    other, other_seen = editor(("hello", "other"))
    cli.ok("note", "edit", "hola", env={"FLIPDECK_EDITOR": mine, "VISUAL": other, "EDITOR": other})
    assert len(mine_seen()) == 1
    assert other_seen() == []
    assert cli.ok("note", "show", "hola", "--json").json()["fields"]["Back"] == "mine"


@pytest.mark.parametrize("kind", ["unchanged", "emptied"])
def test_editor_unchanged_or_emptied_changes_nothing(cli, two_notes, editor, kind):
    command, seen = editor(write="" if kind == "emptied" else None)
    outcome = cli("note", "edit", "hola", env={"EDITOR": command})
    assert outcome.exit_code == 0
    assert outcome.stderr == "No change.\n"
    assert len(seen()) == 1
    assert cli.ok("note", "show", "hola", "--json").json() == two_notes[0]


def test_editor_failing_changes_nothing(cli, two_notes, editor):
    command, _seen = editor(("hello", "changed"), exit=3)
    outcome = cli("note", "edit", "hola", env={"EDITOR": command})
    assert outcome.exit_code == 1
    assert "the editor exited with status 3; nothing changed" in outcome.stderr
    assert cli.ok("note", "show", "hola", "--json").json() == two_notes[0]


def test_editor_unknown_heading_refused(cli, two_notes, editor):
    command, _seen = editor(("## Back", "## Bogus"))
    outcome = cli("note", "edit", "hola", env={"EDITOR": command})
    assert outcome.exit_code == 1
    assert "unknown heading 'Bogus'" in outcome.stderr
    assert cli.ok("note", "show", "hola", "--json").json() == two_notes[0]


def test_missing_editor_program(cli, two_notes):
    outcome = cli("note", "edit", "hola", env={"EDITOR": "/nonexistent/editor"})
    assert outcome.exit_code == 1
    assert "cannot run the editor" in outcome.stderr


def test_tag_and_untag(cli, two_notes):
    outcome = cli("note", "tag", "tag:es", "verb", "Spanish")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Tagged 2 note(s).\n"
    data = cli.ok("note", "untag", "perro", "verb", "--json").json()
    assert data == {"matched": 1}
    tags = {n["fields"]["Front"]: n["tags"] for n in cli.ok("note", "list", "--json").json()}
    assert tags == {
        "hola": ["greet", "es", "verb", "Spanish"],
        "perro": ["animal", "es", "Spanish"],
    }


def test_delete_one_note_needs_no_confirmation(cli, two_notes):
    outcome = cli("note", "delete", "perro", "--json")
    assert outcome.exit_code == 0
    assert outcome.json() == {"deleted": 1}
    remaining = cli.ok("note", "list", "--json").json()
    assert [n["id"] for n in remaining] == [two_notes[0]["id"]]
    assert cli.ids("perro") == []


def test_delete_many_needs_yes_without_terminal(cli, two_notes):
    outcome = cli("note", "delete", "tag:es")
    assert outcome.exit_code == 1
    assert "--yes" in outcome.stderr
    assert len(cli.ok("note", "list", "--json").json()) == 2
    outcome = cli("note", "delete", "tag:es", "--yes")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Deleted 2 note(s).\n"
    assert cli.ok("note", "list", "--json").json() == []

"""`flipdeck deck …`: the deck tree with its counts, and every change a user makes to decks."""

from __future__ import annotations

import os
import pty
import re
import subprocess

import pytest


def by_name(decks: list[dict]) -> dict[str, dict]:
    return {d["name"]: d for d in decks}


def test_create_makes_missing_parents(cli):
    """A deck named with '::' creates its parents, as Anki does."""
    outcome = cli("deck", "create", "Lang::Spanish")
    assert outcome.exit_code == 0
    assert outcome.stdout == ""
    assert outcome.stderr == "Created deck Lang::Spanish\n"
    decks = by_name(cli.decks())
    assert decks["Lang"]["depth"] == 0
    assert decks["Lang::Spanish"]["depth"] == 1
    assert "Default" in decks


def test_create_json(cli):
    data = cli.ok("deck", "create", "Lang", "--json").json()
    assert set(data) == {"id", "name"}
    assert data["name"] == "Lang"
    assert by_name(cli.decks())["Lang"]["id"] == data["id"]


def test_create_taken_name_fails(cli):
    """A name differing only in case is the same deck."""
    cli.ok("deck", "create", "Lang")
    outcome = cli("deck", "create", "lang")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "already exists" in outcome.stderr


def test_create_invalid_name(cli):
    outcome = cli("deck", "create", "Lang::")
    assert outcome.exit_code == 1
    assert "invalid deck name" in outcome.stderr
    assert "Lang" not in by_name(cli.decks())


def test_list_json_shape(cli):
    rows = cli.decks()
    assert rows == [
        {
            "id": rows[0]["id"],
            "name": "Default",
            "depth": 0,
            "new": 0,
            "learning": 0,
            "review": 0,
            "cards": 0,
            "preset_id": rows[0]["preset_id"],
        }
    ]


def test_list_counts_children_and_answers(cli):
    """Counts roll up into parents; answering moves a card from new to learning."""
    cli.add_notes("Lang::Spanish", ("uno", "one"), ("dos", "two"), ("tres", "three"))
    cli.add_notes("Lang", ("hello", "hola"))
    first = cli.ids("deck:Lang::Spanish")[0]
    cli.ok("review", first, "--rating", "good")

    decks = by_name(cli.decks())
    assert decks["Lang::Spanish"] | {"id": None, "preset_id": None} == {
        "id": None,
        "preset_id": None,
        "name": "Lang::Spanish",
        "depth": 1,
        "new": 2,
        "learning": 1,
        "review": 0,
        "cards": 3,
    }
    assert (decks["Lang"]["new"], decks["Lang"]["learning"], decks["Lang"]["cards"]) == (3, 1, 4)
    assert (decks["Default"]["new"], decks["Default"]["cards"]) == (0, 0)


def test_list_piped_is_tab_separated_in_tree_order(cli):
    cli.add_notes("Lang::Spanish", ("uno", "one"), ("dos", "two"))
    cli.ok("deck", "create", "Art")
    outcome = cli.ok("deck", "list")
    assert outcome.stdout.splitlines() == [
        "Art\t0\t0\t0\t0",
        "Default\t0\t0\t0\t0",
        "Lang\t2\t0\t0\t2",
        "Lang::Spanish\t2\t0\t0\t2",
    ]
    assert outcome.stderr == ""


def test_list_new_limit_applies(cli):
    """A preset's new cards per day caps what the deck list offers."""
    cli.add_notes("Lang", ("a", "1"), ("b", "2"), ("c", "3"))
    cli.ok("deck", "config", "Lang", "--new-per-day", "2")
    lang = by_name(cli.decks())["Lang"]
    assert (lang["new"], lang["cards"]) == (2, 3)


def test_list_on_a_terminal_is_an_indented_tree(run, spawn):
    """On a TTY the list is a table whose child decks are indented under their parent."""
    assert run("deck", "create", "Lang::Spanish::Verbs").exit_code == 0
    master, slave = pty.openpty()
    proc = spawn(
        "deck",
        "list",
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env={"COLUMNS": "100", "NO_COLOR": "1"},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=30)
    os.close(master)
    text = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode())
    lines = text.splitlines()
    assert proc.returncode == 0
    assert lines[0].split() == ["Deck", "New", "Learn", "Due", "Cards"]
    names = [line[: line.index(" 0")].rstrip() for line in lines[1:]]
    assert names == ["Default", "Lang", "  Spanish", "    Verbs"]


def test_show_json(cli):
    cli.add_notes("Lang::Spanish", ("uno", "one"))
    cli.ok("deck", "describe", "Lang", "Languages I learn")
    data = cli.ok("deck", "show", "lang", "--json").json()
    assert data["name"] == "Lang"
    assert data["description"] == "Languages I learn"
    assert data["preset"] == "Default"
    assert data["children"] == ["Lang::Spanish"]
    assert (data["new"], data["learning"], data["review"], data["cards"]) == (1, 0, 0, 1)


def test_show_piped_lists_children_plainly(cli):
    cli.ok("deck", "create", "Lang::Spanish")
    cli.ok("deck", "create", "Lang::French")
    rows = dict(line.split("\t") for line in cli.ok("deck", "show", "Lang").stdout.splitlines())
    assert rows["children"] == "Lang::French, Lang::Spanish"
    assert rows["preset"] == "Default"


def test_rename_moves_children_and_cards(cli):
    cli.add_notes("Lang::Spanish", ("uno", "one"))
    outcome = cli("deck", "rename", "Lang", "Idiomas")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Renamed to Idiomas\n"
    names = [d["name"] for d in cli.decks()]
    assert names == ["Default", "Idiomas", "Idiomas::Spanish"]
    assert cli.card(cli.ids()[0])["deck"] == "Idiomas::Spanish"


def test_rename_into_itself_fails(cli):
    cli.ok("deck", "create", "Lang")
    outcome = cli("deck", "rename", "Lang", "Lang::Sub")
    assert outcome.exit_code == 1
    assert "inside itself" in outcome.stderr
    assert [d["name"] for d in cli.decks()] == ["Default", "Lang"]


def test_delete_with_yes_removes_subtree_and_cards(cli):
    cli.add_notes("Lang::Spanish", ("uno", "one"), ("dos", "two"))
    cli.add_notes("Other", ("x", "y"))
    outcome = cli("deck", "delete", "Lang", "--yes")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Deleted 2 deck(s) and 2 card(s).\n"
    assert [d["name"] for d in cli.decks()] == ["Default", "Other"]
    assert len(cli.ids()) == 1


def test_delete_dry_run_changes_nothing(cli):
    cli.add_notes("Lang", ("uno", "one"))
    outcome = cli("deck", "delete", "Lang", "--dry-run")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Would delete 1 deck(s) and 1 card(s).\n"
    assert "Lang" in by_name(cli.decks())
    assert len(cli.ids()) == 1


def test_delete_without_yes_and_no_terminal_refuses(cli):
    """Without a terminal to ask on, a deck deletion needs --yes, and nothing is deleted."""
    cli.add_notes("Lang", ("uno", "one"))
    outcome = cli("deck", "delete", "Lang")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "--yes" in outcome.stderr
    assert "Lang" in by_name(cli.decks())


def _delete_on_terminal(spawn, answer: bytes) -> tuple[int, str, str]:
    master, slave = pty.openpty()
    proc = spawn(
        "deck", "delete", "Lang", stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    os.close(slave)
    try:
        os.write(master, answer)
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(master)
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("answer", [b"n\n", b"\n", b"\x04"], ids=["no", "default", "eof"])
def test_delete_declined_on_terminal_exits_3(run, spawn, answer):
    """On a terminal the user is asked; no, Enter or end of input declines (exit 3)."""
    assert run("deck", "create", "Lang").exit_code == 0
    code, out, err = _delete_on_terminal(spawn, answer)
    assert code == 3
    assert out == ""  # the question goes to stderr, stdout stays for results
    assert "Delete Lang: 1 deck(s) and 0 card(s)? [y/N]" in err
    assert err.rstrip().endswith("Cancelled; nothing changed.")
    assert "Lang" in run("deck", "list").stdout


def test_delete_confirmed_on_terminal(run, spawn):
    assert run("deck", "create", "Lang").exit_code == 0
    code, out, err = _delete_on_terminal(spawn, b"y\n")
    assert code == 0
    assert out == ""
    assert err.rstrip().endswith("Deleted 1 deck(s) and 0 card(s).")
    assert run("deck", "list").stdout == "Default\t0\t0\t0\t0\n"


def test_config_show_json(cli):
    data = cli.ok("deck", "config", "Default", "--json").json()
    assert data["name"] == "Default"
    assert data["decks"] == ["Default"]
    assert set(data) == {
        "id",
        "name",
        "desired_retention",
        "new_per_day",
        "reviews_per_day",
        "learning_steps",
        "relearning_steps",
        "maximum_interval",
        "leech_threshold",
        "leech_action",
        "parameters",
        "decks",
    }


def test_config_changes_shared_preset(cli):
    cli.ok("deck", "create", "Lang")
    data = cli.ok(
        "deck",
        "config",
        "Lang",
        "--new-per-day",
        "5",
        "--learning-steps",
        "2m 15m",
        "--retention",
        "0.85",
        "--json",
    ).json()
    assert (data["new_per_day"], data["learning_steps"], data["desired_retention"]) == (
        5,
        "2m 15m",
        0.85,
    )
    assert data["decks"] == ["Default", "Lang"]
    # Default shares the preset, so it follows
    assert cli.ok("deck", "config", "Default", "--json").json()["new_per_day"] == 5


def test_config_new_preset_only_for_that_deck(cli):
    cli.ok("deck", "create", "Lang")
    data = cli.ok(
        "deck", "config", "Lang", "--new-preset", "Fast", "--retention", "0.8", "--json"
    ).json()
    assert (data["name"], data["desired_retention"], data["decks"]) == ("Fast", 0.8, ["Lang"])
    presets = {p["name"]: p for p in cli.ok("deck", "config", "--json").json()}
    assert presets["Default"]["desired_retention"] == 0.9
    assert presets["Default"]["decks"] == ["Default"]
    assert presets["Fast"]["decks"] == ["Lang"]
    rows = dict(line.split("\t") for line in cli.ok("deck", "config", "Lang").stdout.splitlines())
    assert rows["decks"] == "Lang"


def test_config_invalid_value(cli):
    outcome = cli("deck", "config", "Default", "--retention", "3", "--json")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert outcome.error()["code"] == "invalid_input"
    assert cli.ok("deck", "config", "Default", "--json").json()["desired_retention"] == 0.9


@pytest.mark.parametrize(
    "args",
    [
        ["deck", "show", "Nope"],
        ["deck", "rename", "Nope", "Other"],
        ["deck", "delete", "Nope", "--yes"],
        ["deck", "describe", "Nope", "text"],
        ["deck", "config", "Nope"],
    ],
    ids=lambda a: a[1],
)
def test_unknown_deck(cli, args):
    outcome = cli(*args)
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "error: no deck named 'Nope'" in outcome.stderr
    assert "hint: Decks: Default." in outcome.stderr

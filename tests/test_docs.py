"""docs/cli.md is the CLI reference, so it must keep up with the CLI: every command has help
text and a section there that names its options, every exit code is in its table, and every
field the JSON output has is documented (as sqlite-utils checks its own docs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from flipdeck.cli.app import app
from flipdeck.cli.help import SEARCH_HELP
from flipdeck.cli.output import EXIT_CODES

DOCS = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")


def walk(command, path=()):
    """``(path, command)`` for every command and group below ``command``."""
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield (*path, name), sub
        yield from walk(sub, (*path, name))


COMMANDS = dict(walk(typer.main.get_command(app)))
PATHS = [" ".join(path) for path in COMMANDS]


def section(heading: str) -> str:
    """The text under a ``### heading`` line, up to the next heading of any level."""
    match = re.search(
        rf"^### {re.escape(heading)}\n(.*?)(?=^#{{1,3}} )", DOCS + "\n# end", re.M | re.S
    )
    assert match, f"docs/cli.md has no section '### {heading}'"
    return match.group(1)


def test_the_walk_finds_the_commands():
    assert {"deck create", "card set-due", "notetype reorder-fields", "study", "help search"} <= (
        set(PATHS)
    )
    assert len(PATHS) > 50


@pytest.mark.parametrize("path", PATHS)
def test_every_command_has_help_text(path):
    command = COMMANDS[tuple(path.split())]
    assert (command.help or "").strip(), f"`flipdeck {path}` has no help text"


@pytest.mark.parametrize("path", PATHS)
def test_every_command_is_documented(path):
    """Each command has a heading (or at least a code span) in docs/cli.md."""
    heading = re.search(rf"^#+ `?flipdeck {re.escape(path)}`?$", DOCS, re.M)
    assert heading or f"`flipdeck {path}`" in DOCS or f"`{path}`" in DOCS


@pytest.mark.parametrize("path", PATHS)
def test_every_option_is_documented_in_its_section(path):
    command = COMMANDS[tuple(path.split())]
    text = section(f"flipdeck {path}")
    for param in command.params:
        for opt in param.opts:
            if opt.startswith("--") and opt != "--help":
                assert f"`{opt}" in text, f"`flipdeck {path}`: {opt} is not documented"


@pytest.mark.parametrize(("code", "meaning"), EXIT_CODES.items())
def test_every_exit_code_is_in_the_table(code, meaning):
    assert f"\n| {code} | {meaning} |\n" in DOCS


def test_the_search_terms_are_documented():
    text = DOCS[DOCS.index("## Search language") :]
    terms = re.findall(r"^  (\S+)\s{2,}", SEARCH_HELP, re.M)
    assert len(terms) > 10
    for term in terms:
        assert f"`{term}`" in text, f"search term {term} is not in docs/cli.md"


def _documented_fields(heading: str) -> set[str]:
    return set(re.findall(r"^\| `(\w+)` \|", section(heading), re.M))


@pytest.fixture
def cli_json(hermetic):
    """Runs `flipdeck ARGS --json` in-process on a collection with one studied card."""
    import json

    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    added = invoke("add", "--deck", "Default", "hola", "hello")
    card_id = added[0]["card_ids"][0]
    invoke("review", card_id, "--rating", "good")
    invoke.card_id = card_id
    return invoke


def test_json_fields_are_documented(cli_json):
    """Every field flipdeck prints with --json has a row in the docs (and no row is stale)."""
    card = cli_json("card", "show", cli_json.card_id)
    assert set(cli_json("card", "list")[0]) | set(card) == _documented_fields(
        "Cards (`card list --json`, `card show --json`)"
    )
    deck = cli_json("deck", "show", "Default")
    assert set(cli_json("deck", "list")[0]) | set(deck) == _documented_fields(
        "Decks (`deck list --json`, `deck show --json`)"
    )
    assert set(cli_json("due")) == _documented_fields("Due counts (`due --json`)")
    assert set(cli_json("stats")) == _documented_fields("Statistics (`stats --json`)")
    note = cli_json("note", "show", cli_json.card_id)
    assert set(note) == _documented_fields("Notes (`note list --json`, `note show --json`)")
    notetype = cli_json("notetype", "show", "Basic")
    assert set(notetype) == _documented_fields(
        "Note types (`notetype list --json`, `notetype show --json`)"
    )

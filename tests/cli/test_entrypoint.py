"""The real entry point: `python -m flipdeck` and the `flipdeck` script start, show help and
their version, print and answer shell completion, and stay light on imports."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from flipdeck import __version__
from flipdeck.cli.help import SEARCH_HELP

# pydantic: typer 0.29+ imports it at start-up (~70 ms); pyproject.toml keeps typer below that
HEAVY = ("textual", "httpx", "falcon", "peewee", "pydantic")

# Runs main() as the `flipdeck` console script would, then reports the heavy modules loaded.
PROBE = """
import json, sys
sys.argv = ["flipdeck", *json.loads(sys.argv[1])]
from flipdeck.cli.app import main
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
sys.stderr.write("HEAVY=" + json.dumps(heavy) + "\\n")
"""


def test_help(run):
    outcome = run("--help")
    assert outcome.exit_code == 0
    assert outcome.stderr == ""
    assert "Usage: flipdeck [OPTIONS] COMMAND [ARGS]..." in outcome.stdout
    for command in ("deck", "card", "note", "notetype", "study", "review", "due", "stats"):
        assert f" {command} " in outcome.stdout


def test_short_help_and_subcommand_help(run):
    outcome = run("card", "-h")
    assert outcome.exit_code == 0
    assert "Usage: flipdeck card [OPTIONS] COMMAND [ARGS]..." in outcome.stdout
    assert "set-due" in outcome.stdout


def test_no_arguments_shows_help(run):
    outcome = run()
    assert outcome.exit_code == 2
    assert "Usage: flipdeck [OPTIONS] COMMAND [ARGS]..." in outcome.stdout


def test_version(run):
    outcome = run("--version")
    assert outcome.exit_code == 0
    assert outcome.stdout == f"flipdeck {__version__}\n"
    assert outcome.stderr == ""


def test_version_in_process(cli):
    assert cli.ok("--version").stdout == f"flipdeck {__version__}\n"


def test_console_script_points_at_main():
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    scripts = tomllib.loads(pyproject.read_text())["project"]["scripts"]
    assert scripts["flipdeck"] == "flipdeck.cli.app:main"


@pytest.mark.parametrize(
    "args",
    [["--help"], ["due"], ["card", "list", "--json"], ["deck", "list"], ["study"]],
    ids=" ".join,
)
def test_startup_imports_no_heavy_modules(child_env, args):
    """The CLI never pays for the TUI, the sync client or the server at start-up."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), json.dumps(args)],
        capture_output=True,
        text=True,
        env=child_env,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    report = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY=")]
    assert report == ["HEAVY=[]"], proc.stderr


def test_probe_detects_heavy_imports(child_env):
    """The import probe itself works: a module imported before main() is reported."""
    probe = "import sqlite3 as textual, sys; sys.modules['textual'] = textual\n" + PROBE.format(
        heavy=HEAVY
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(["--version"])],
        capture_output=True,
        text=True,
        env=child_env,
        timeout=30,
    )
    assert 'HEAVY=["textual"]' in proc.stderr


def test_completion_script(run):
    outcome = run("completion", "bash")
    assert outcome.exit_code == 0
    assert "_FLIPDECK_COMPLETE" in outcome.stdout
    assert "complete -o default -F _flipdeck_completion flipdeck" in outcome.stdout
    for shell in ("zsh", "fish"):
        script = run("completion", shell)
        assert script.exit_code == 0
        assert "_FLIPDECK_COMPLETE" in script.stdout


def test_completion_unknown_shell(run):
    outcome = run("completion", "tcsh")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "Shell tcsh not supported." in outcome.stderr


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [("flipdeck de", 1, ["deck"]), ("flipdeck card s", 2, ["show", "suspend", "set-due"])],
)
def test_completion_answers(run, words, cword, expected):
    """What the printed bash script asks for is answered: the words that complete."""
    outcome = run(
        env={"_FLIPDECK_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    )
    assert outcome.exit_code == 0
    assert outcome.stdout.split() == expected
    assert outcome.stderr == ""


def test_help_search(run):
    outcome = run("help", "search")
    assert outcome.exit_code == 0
    assert outcome.stdout == SEARCH_HELP + "\n"


def test_sample_is_idempotent(cli):
    first = cli("sample")
    assert first.exit_code == 0
    assert first.stderr == "Sample deck 'Sample::Shell commands': 36 note(s) added.\n"
    again = cli("sample")
    assert again.stderr == (
        "Sample deck 'Sample::Shell commands': 0 note(s) added, 36 already there.\n"
    )
    decks = {d["name"]: d for d in cli.decks()}
    assert decks["Sample::Shell commands"]["cards"] == 41
    assert len(cli.ids("tag:archives")) == 3


def test_sample_study(cli):
    outcome = cli("sample", "--study", input="\n3\nq\n")
    assert outcome.exit_code == 0
    assert "Sample::Shell commands · new 20" in outcome.stdout
    assert outcome.stderr.splitlines()[-1] == "Studied 1 card(s) in 0s · again 0%."
    assert len(cli.ids("rated:1")) == 1

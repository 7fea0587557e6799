"""`flipdeck tui` and `flipdeck` alone: the app opens only where a person can use it (stdin and
stdout both terminals); in a pipe the help is printed (exit 2, as before) or `tui` refuses
with a hint, never a traceback or a hung process."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flipdeck.cli import tui as tui_cmd
from flipdeck.cli.app import app
from flipdeck.core.errors import InvalidInput


@pytest.fixture
def opened(monkeypatch):
    """Record what would be opened instead of taking over the terminal."""
    calls = []
    monkeypatch.setattr(tui_cmd, "open_app", lambda **kw: calls.append(kw))
    return calls


def _tty(monkeypatch, value: bool) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: value, raising=False)
    monkeypatch.setattr("sys.stdout.isatty", lambda: value, raising=False)


def test_no_arguments_in_a_terminal_opens_the_app(monkeypatch, opened):
    runner = CliRunner()
    with runner.isolation():
        _tty(monkeypatch, True)
        with pytest.raises(SystemExit) as done:
            app([], prog_name="flipdeck")
    assert done.value.code == 0
    assert opened == [{}]


def test_no_arguments_in_a_pipe_prints_the_help(opened):
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2
    assert "Usage: flipdeck [OPTIONS] COMMAND [ARGS]..." in result.stdout
    assert " tui " in result.stdout
    assert opened == []


def test_tui_in_a_pipe_refuses_with_a_hint(opened):
    result = CliRunner().invoke(app, ["tui"])
    assert isinstance(result.exception, InvalidInput)  # main() prints it and exits 1
    assert "needs a terminal" in result.exception.message
    assert "flipdeck study" in result.exception.hint
    assert opened == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], {"study": None, "theme": None}),
        (["Spanish"], {"study": "Spanish", "theme": None}),
        (["--study"], {"study": True, "theme": None}),
        (["--theme", "flipdeck-light"], {"study": None, "theme": "flipdeck-light"}),
    ],
)
def test_tui_options(monkeypatch, opened, args, expected):
    runner = CliRunner()
    with runner.isolation():
        _tty(monkeypatch, True)
        with pytest.raises(SystemExit) as done:
            app(["tui", *args], prog_name="flipdeck")
    assert done.value.code == 0
    assert opened == [expected]

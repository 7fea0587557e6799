"""Fixtures for driving the `flipdeck` command line the way a user does.

Two ways in:

- ``cli(*args, input=None)`` runs the typer app in-process with ``CliRunner`` (fast), on a
  collection whose clock is the ``clock`` fixture and whose time zone is UTC. A domain error is
  translated exactly as ``main()`` translates it, so exit codes and stderr match the real thing.
- ``run(*args, input=None)`` runs the real entry point, ``python -m flipdeck``, in a subprocess:
  real streams, real exit codes, real signal handling and imports, and the wall clock. Each
  call costs about 0.15 s, so it is kept for what only a process shows.

Both return a :class:`Outcome` with ``exit_code``, ``stdout`` and ``stderr`` kept apart.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flipdeck.cli import output
from flipdeck.cli.app import app
from flipdeck.core.errors import FlipdeckError

SRC = Path(__file__).resolve().parents[2] / "src"


@dataclass
class Outcome:
    """What a command did, stream by stream."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        """stdout parsed as JSON (the whole of it must be one document)."""
        return json.loads(self.stdout)

    def error(self) -> dict:
        """stderr parsed as a ``--json`` error body."""
        return json.loads(self.stderr)["error"]


def _translate(error: FlipdeckError, args: tuple[str, ...]) -> tuple[int, str]:
    """Exactly what ``main()`` prints and exits with for ``error``."""
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer), pytest.raises(SystemExit) as exit_info:
        output.fail(error, as_json=output.wants_json(args))
    return int(exit_info.value.code), buffer.getvalue()


@pytest.fixture
def home(hermetic) -> Path:
    """The FLIPDECK_HOME of this test (created by the root ``hermetic`` fixture's variable)."""
    return hermetic


class Cli:
    """``cli(*args, input=None)`` runs ``flipdeck ARGS`` in-process; a few shortcuts on top."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None) -> Outcome:
        result = self.runner.invoke(app, list(args), input=input, env=env)
        error = result.exception
        if isinstance(error, FlipdeckError):
            code, stderr = _translate(error, args)
            return Outcome(code, result.stdout, result.stderr + stderr)
        if error is not None and not isinstance(error, SystemExit):
            raise error  # a crash is a bug: show its traceback
        return Outcome(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, input: str | None = None, env: dict | None = None) -> Outcome:
        """Run a command that must succeed."""
        outcome = self(*args, input=input, env=env)
        assert outcome.exit_code == 0, (args, outcome.stdout, outcome.stderr)
        return outcome

    def ids(self, query: str = "") -> list[str]:
        """The ids of the cards a query finds, via `card list QUERY --json`."""
        return [c["id"] for c in self.ok("card", "list", query, "--json").json()]

    def card(self, card_id: str) -> dict:
        """`card show ID --json`."""
        return self.ok("card", "show", card_id, "--json").json()

    def add_notes(self, deck: str, *rows: tuple[str, ...], tags: str = "") -> list[dict]:
        """Add notes through `add --from -` (creating the deck if missing); returns the JSON."""
        if deck.casefold() not in (d["name"].casefold() for d in self.decks()):
            self.ok("deck", "create", deck)
        args = ["add", "--deck", deck, "--from", "-", "--json"]
        if tags:
            args += ["--tags", tags]
        return self.ok(*args, input="".join("\t".join(r) + "\n" for r in rows)).json()

    def decks(self) -> list[dict]:
        """`deck list --json`."""
        return self.ok("deck", "list", "--json").json()


@pytest.fixture
def cli(home, clock, monkeypatch) -> Cli:
    """Run ``flipdeck ARGS`` in-process; returns an :class:`Outcome`.

    The collection in FLIPDECK_HOME is created up front in UTC, and every command opens it
    with the test's clock, so due dates and "today" are exact.
    """
    from flipdeck.paths import collection_path
    from flipdeck.store import config
    from flipdeck.store.collection import Collection

    original = Collection.open.__func__

    def open_with_clock(cls, path=None, *, now=None):
        return original(cls, path, now=now or clock)

    monkeypatch.setattr(Collection, "open", classmethod(open_with_clock))
    with Collection.open(collection_path()) as col, col.transaction():
        config.set_value(col, "timezone", "UTC")
    return Cli()


def subprocess_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for ``python -m flipdeck``: this test's home, UTC, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLIPDECK_", "PYTEST"))}
    env.update(
        FLIPDECK_HOME=str(home),
        PYTHONPATH=str(SRC) + os.pathsep + env.get("PYTHONPATH", ""),
        TZ="UTC",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture
def child_env(home) -> dict[str, str]:
    """The environment a flipdeck subprocess of this test runs in."""
    return subprocess_env(home)


@pytest.fixture
def run(home):
    """Run ``python -m flipdeck ARGS`` in a subprocess; returns an :class:`Outcome`."""

    def invoke(
        *args: str, input: str | None = None, env: dict | None = None, timeout: float = 30
    ) -> Outcome:
        proc = subprocess.run(
            [sys.executable, "-m", "flipdeck", *args],
            input=input,
            capture_output=True,
            text=True,
            env=subprocess_env(home, **(env or {})),
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        return Outcome(proc.returncode, proc.stdout, proc.stderr)

    return invoke


@pytest.fixture
def spawn(home):
    """Start ``python -m flipdeck ARGS`` as a process (Popen keyword arguments pass through;
    ``env`` adds variables)."""
    started = []

    def start(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flipdeck", *args],
            env=subprocess_env(home, **(env or {})),
            **kwargs,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def open_collection(home, clock):
    """Open the CLI's collection directly, to check what a command left behind."""
    from flipdeck.store.collection import Collection

    opened = []

    def opener():
        col = Collection.open(home / "collection.db", now=clock)
        opened.append(col)
        return col

    yield opener
    for col in opened:
        col.close()


EDITOR_SCRIPT = """\
import json, pathlib, sys
spec = json.loads(pathlib.Path(sys.argv[1]).read_text())
target = pathlib.Path(sys.argv[2])
text = target.read_text(encoding="utf-8")
with open(spec["log"], "a", encoding="utf-8") as log:
    log.write(json.dumps({"path": str(target), "text": text}) + "\\n")
for old, new in spec["replace"]:
    text = text.replace(old, new)
if spec["write"] is not None:
    text = spec["write"]
target.write_text(text, encoding="utf-8")
sys.exit(spec["exit"])
"""


@pytest.fixture
def editor(tmp_path):
    """Makes an ``EDITOR`` command: a small Python script that applies text replacements to
    the file it is given (or writes ``write``), logs what it saw, and exits with ``exit``.

    ``editor(...)`` returns ``(command, seen)``; ``seen()`` lists the texts it was shown.
    """
    import shlex

    script = tmp_path / "fake_editor.py"
    script.write_text(EDITOR_SCRIPT, encoding="utf-8")
    made = 0

    def make(*replace: tuple[str, str], write: str | None = None, exit: int = 0):
        nonlocal made
        made += 1
        spec = tmp_path / f"editor-{made}.json"
        log = tmp_path / f"editor-{made}.log"
        spec.write_text(
            json.dumps({"replace": list(replace), "write": write, "exit": exit, "log": str(log)})
        )
        command = " ".join(shlex.quote(p) for p in (sys.executable, str(script), str(spec)))

        def seen() -> list[str]:
            if not log.exists():
                return []
            return [json.loads(line)["text"] for line in log.read_text().splitlines()]

        return command, seen

    return make

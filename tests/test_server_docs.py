"""docs/server.md stays true: every environment variable the server reads, every command of
`flipdeck-server` and every route of the app is documented there."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")


def test_every_variable_is_documented():
    source = (ROOT / "src" / "flipdeck" / "server" / "config.py").read_text(encoding="utf-8")
    names = set(re.findall(r'"(FLIPDECK_[A-Z_]+)"', source))
    assert names, "config.py reads no variables?"
    missing = sorted(n for n in names if f"`{n}`" not in DOC)
    assert not missing, f"undocumented in docs/server.md: {missing}"


def test_every_command_is_documented():
    from flipdeck.server.cli import app

    commands = typer.main.get_command(app).commands
    assert {"serve", "migrate", "create-user", "check", "openapi"} <= set(commands)
    missing = sorted(c for c in commands if f"`{c}" not in DOC)
    assert not missing, f"undocumented commands: {missing}"


def test_every_route_is_documented():
    from flipdeck.server.app import routes
    from flipdeck.server.config import Config

    class _State:
        config = Config(database_url="sqlite:///unused", secret_key=b"k" * 32)
        issuer = hasher = counter = None

    paths = [path for path, _resource in routes(_State(), {})]
    documented = [p for p in paths if p.startswith("/v1") or p in ("/health", "/ready")]
    pattern = {p: re.sub(r"\{[a-z_]+\}", "{id}", p) for p in documented}
    missing = sorted(p for p, shown in pattern.items() if shown not in DOC)
    assert not missing, f"undocumented routes: {missing}"

"""Provides how the CLI speaks: results to stdout (JSON, tables or TSV), everything else to
stderr, and the one place errors become messages and exit codes.

rich is imported only when a person is reading, so piped and ``--json`` runs stay lean.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, NoReturn

import typer

from flipdeck.core.errors import (
    CollectionUnavailable,
    Conflict,
    FlipdeckError,
    InvalidInput,
    NotFound,
    QueryError,
)
from flipdeck.sync.errors import AuthRequired, ServerUnavailable  # light: no httpx

# Exit codes (printed by `flipdeck help exit-codes`, documented in docs/cli.md).
EXIT_CODES: dict[int, str] = {
    0: "success (an empty result is a success too)",
    1: "the command failed: unknown deck, card or note type, invalid value, name taken",
    2: "usage error: unknown option, missing argument, invalid search query",
    3: "declined or cancelled: nothing was changed",
    4: "authentication missing or rejected (sync)",
    5: "server unreachable; local data is intact, retry later (sync)",
    6: "the collection cannot be opened: locked by another process, damaged, or too new",
    130: "interrupted (Ctrl-C); every answer already given is kept",
}
EXIT_FAILED, EXIT_USAGE, EXIT_DECLINED, EXIT_COLLECTION, EXIT_INTERRUPTED = 1, 2, 3, 6, 130

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

EXIT_AUTH, EXIT_UNREACHABLE = 4, 5

_ERROR_CODES = (
    (AuthRequired, "auth_required", EXIT_AUTH),
    (ServerUnavailable, "server_unavailable", EXIT_UNREACHABLE),
    (QueryError, "invalid_query", EXIT_USAGE),
    (NotFound, "not_found", EXIT_FAILED),
    (Conflict, "conflict", EXIT_FAILED),
    (InvalidInput, "invalid_input", EXIT_FAILED),
    (CollectionUnavailable, "collection_unavailable", EXIT_COLLECTION),
    (FlipdeckError, "failed", EXIT_FAILED),
)


def wants_json(argv: Sequence[str] | None = None) -> bool:
    """Whether the command line asked for JSON (errors are then JSON too)."""
    return "--json" in (sys.argv if argv is None else argv)


def color_enabled(stream) -> bool:
    """NO_COLOR (non-empty) or TERM=dumb turns colour off; FORCE_COLOR turns it on."""
    if os.environ.get("NO_COLOR") or os.environ.get("FLIPDECK_NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()


def console(stderr: bool = False):
    """A rich console on stdout or stderr that honours the colour conventions."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(
        file=stream,
        no_color=not color_enabled(stream),
        highlight=False,
        soft_wrap=not stream.isatty(),
    )


def print_json(data: Any) -> None:
    """JSON on stdout: indented for a terminal, compact for a pipe."""
    indent = 2 if sys.stdout.isatty() else None
    sys.stdout.write(json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def info(message: str) -> None:
    """A line for the person at the terminal (stderr, so stdout stays data)."""
    sys.stderr.write(message + "\n")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None):
    """A padded table for a terminal, header-less tab-separated rows for a pipe."""
    rows = [[("" if v is None else str(v)) for v in row] for row in rows]
    if not sys.stdout.isatty():
        for row in rows:
            sys.stdout.write("\t".join(v.replace("\t", " ").replace("\n", " ") for v in row) + "\n")
        return
    from rich.table import Table

    t = Table(*headers, title=title, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        t.add_row(*row)
    console().print(t)


def error_parts(error: FlipdeckError) -> tuple[str, int]:
    """The stable error code and exit code for a domain error."""
    for kind, code, exit_code in _ERROR_CODES:
        if isinstance(error, kind):
            return code, exit_code
    return "failed", EXIT_FAILED


def fail(error: FlipdeckError, *, as_json: bool = False) -> NoReturn:
    """Report a domain error on stderr (as JSON with ``--json``) and exit with its code."""
    code, exit_code = error_parts(error)
    if as_json:
        body = {"error": {"code": code, "message": error.message, "hint": error.hint}}
        if isinstance(error, QueryError):
            body["error"]["position"] = error.position
        sys.stderr.write(json.dumps(body, ensure_ascii=False) + "\n")
    else:
        lines = []
        if isinstance(error, QueryError):
            lines += [f"  {error.query}", "  " + " " * error.position + "^"]
        lines.append(f"error: {error.message}")
        if error.hint:
            lines.append(f"hint: {error.hint}")
        sys.stderr.write("\n".join(lines) + "\n")
    raise SystemExit(exit_code)

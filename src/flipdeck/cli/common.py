"""Provides what several commands share: opening the collection, picking cards and notes by
query or id, confirmation, and times for output."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TextIO

from flipdeck.cli import output
from flipdeck.core.errors import FlipdeckError, NotFound
from flipdeck.store.collection import Collection

_ID = re.compile(r"^[0-9a-fA-F-]{6,36}$")


@contextmanager
def collection() -> Iterator[Collection]:
    """The user's collection, open for one command."""
    col = Collection.open()
    try:
        yield col
    finally:
        col.close()


def select_cards(col: Collection, query: str) -> list[str]:
    """Card ids for a card id (or prefix) or a search query."""
    from flipdeck.store import cards, search

    if _ID.match(query.strip()):
        try:
            return [cards.resolve(col, query)]
        except NotFound:
            pass
    return search.find_cards(col, query, now=col.now())


def select_notes(col: Collection, query: str) -> list[str]:
    """Note ids for a note id, a card id, or a search query."""
    from flipdeck.store import cards, search

    q = query.strip()
    if _ID.match(q):
        row = col.conn.execute("SELECT id FROM notes WHERE id = ? AND deleted = 0", (q,)).fetchone()
        if row:
            return [row[0]]
        try:
            return [cards.info(col, cards.resolve(col, q)).note_id]
        except NotFound:
            pass
    return search.find_notes(col, query, now=col.now())


def select_card(col: Collection, query: str) -> str:
    """The one card a card id (or prefix) or a search query picks; several is an error."""
    ids = select_cards(col, query)
    if not ids and _ID.match(query.strip()):
        from flipdeck.store import cards

        cards.resolve(col, query)  # says "no card with id …" (or that the prefix is ambiguous)
    require_some(ids, "cards", query)
    if len(ids) > 1:
        from flipdeck.core.errors import InvalidInput

        raise InvalidInput(
            f"{len(ids)} cards match {query!r}; give one card id",
            hint=f"List them with `flipdeck card list {query!r}`.",
        )
    return ids[0]


def require_some(ids: list[str], what: str, query: str) -> list[str]:
    """``ids``, or a not-found error naming the query."""
    if not ids:
        raise NotFound(f"no {what} match {query!r}", hint="Check the query with `card list`.")
    return ids


def confirm(question: str, yes: bool) -> None:
    """Ask before something destructive; without a terminal, ``--yes`` is required."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise FlipdeckError(
            "refusing to ask for confirmation without a terminal", hint="Pass --yes to proceed."
        )
    # Asked on stderr, so stdout carries only results (typer.confirm echoes part of its
    # prompt to stdout, and turns end of input into "Aborted." with exit 1).
    sys.stderr.write(f"{question} [y/N]: ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer:  # end of input declines, like "n"
        sys.stderr.write("\n")
    if answer.strip().lower() not in ("y", "yes"):
        output.info("Cancelled; nothing changed.")
        raise SystemExit(output.EXIT_DECLINED)


@contextmanager
def open_source(source: str) -> Iterator[TextIO]:
    """The text a ``--from`` option names: ``-`` is stdin, anything else a UTF-8 file."""
    if source == "-":
        stream, name = sys.stdin, "stdin"
        if stream.isatty():  # typed by hand, not piped: say how to finish instead of hanging
            output.info("Reading from the terminal, one item per line; end with Ctrl-D.")
    else:
        name = source
        try:
            stream = open(source, encoding="utf-8")  # noqa: SIM115
        except OSError as error:
            raise FlipdeckError(
                f"cannot read {source}: {error.strerror or error}",
                hint="Give a readable file, or '-' to read from stdin.",
            ) from None
    try:
        yield stream
    except UnicodeDecodeError:
        raise FlipdeckError(f"{name} is not UTF-8 text; nothing was changed") from None
    finally:
        if stream is not sys.stdin:
            stream.close()


def iso(ms: int | None) -> str | None:
    """An epoch-ms time as RFC 3339 UTC (``2026-12-01T09:30:00Z``), or ``None``."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> int:
    """An ISO-8601 time (a zone offset or Z; naive means UTC) as epoch ms."""
    from flipdeck.core.errors import InvalidInput

    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"not an ISO-8601 time: {text!r}", hint="Write e.g. 2026-12-01T09:30:00Z."
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)

"""Provides `flipdeck import` and `flipdeck export`: files in and out, in every format.

Thin, as every command module: read the bytes, let ``formats`` detect and import them in one
transaction, and print the summary. Anki packages go to ``formats.apkg``, imported only when
such a file is given, so the text formats never pay for zip and zstd.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import collection
from flipdeck.cli.output import JsonOption
from flipdeck.core.errors import FlipdeckError, InvalidInput

_IMPORT_FORMATS = ("auto", "csv", "tsv", "txt", "md", "json", "apkg", "colpkg")
_EXPORT_FORMATS = ("apkg", "csv", "tsv", "md", "json")


def _failed(error: Exception) -> InvalidInput:
    """An importer's ImportFailed as the CLI's error (exit 1, no traceback)."""
    return InvalidInput(str(error), hint="Nothing was imported; fix the file and run it again.")


def _apkg():
    try:
        from flipdeck.formats import apkg
    except ImportError:
        raise FlipdeckError(
            "Anki packages (.apkg/.colpkg) cannot be imported or exported by this build yet",
            hint="Export the deck from Anki as 'Notes in Plain Text' and import that file.",
        ) from None
    return apkg


@contextmanager
def _progress(enabled: bool, label: str):
    """A progress callback drawing a rich bar on stderr (only for a person at a terminal)."""
    if not enabled or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=output.console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update


def _write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target, then rename: a crash leaves the old file or the new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(source: str, size: int = -1) -> bytes:
    """The file's bytes (the first ``size`` of them), or a clear error naming it."""
    try:
        with Path(source).open("rb") as handle:
            return handle.read(size)
    except OSError as error:
        raise FlipdeckError(
            f"cannot read {source}: {error.strerror or error}",
            hint="Give a readable file, or '-' to read from stdin.",
        ) from None


def import_(
    source: Annotated[str, typer.Argument(metavar="FILE", help="The file to import, or '-'.")],
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="auto, csv, tsv, txt, md, json, apkg or colpkg."),
    ] = "auto",
    deck: Annotated[
        str | None, typer.Option("--deck", "-d", help="Deck for notes the file gives none.")
    ] = None,
    notetype: Annotated[
        str | None, typer.Option("--type", "-t", help="Note type for every row (CSV).")
    ] = None,
    fields: Annotated[
        str | None,
        typer.Option("--fields", help="Column names, comma-separated, e.g. 'Back,Front,Tags'."),
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option("--delimiter", help="Column separator: tab, comma, ';' …")
    ] = None,
    tags: Annotated[str, typer.Option("--tags", help="Space-separated tags for every note.")] = "",
    on_duplicate: Annotated[
        str | None,
        typer.Option("--on-duplicate", help="update (default), skip or add a matching note."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Say what would happen; change nothing.")
    ] = False,
    no_write_back: Annotated[
        bool,
        typer.Option("--no-write-back", help="Markdown: do not write note ids into the file."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Import notes from CSV/TSV/TXT (Anki headers), Markdown, a JSON backup or an Anki package.

    One transaction: a file with an error imports nothing. Examples: flipdeck import deck.csv ·
    flipdeck import notes.md --deck Spanish · flipdeck import - --fields Front,Back < words.tsv
    """
    from flipdeck.formats.detect import detect, import_text_data
    from flipdeck.formats.summary import ImportFailed, ImportOptions

    fmt = fmt.lower()
    if fmt not in _IMPORT_FORMATS:
        raise InvalidInput(
            f"unknown format {fmt!r}", hint=f"Use one of {', '.join(_IMPORT_FORMATS)}."
        )
    if on_duplicate is not None and on_duplicate not in ("update", "skip", "add"):
        raise InvalidInput(f"--on-duplicate must be update, skip or add, not {on_duplicate!r}")
    options = ImportOptions(
        deck=deck,
        notetype=notetype,
        fields=tuple(f.strip() for f in fields.split(",")) if fields else None,
        delimiter=delimiter,
        tags=tuple(tags.split()),
        on_duplicate=on_duplicate or "update",
        dry_run=dry_run,
    )
    name = None if source == "-" else source
    if source == "-":
        if sys.stdin.isatty():
            output.info("Reading the file from the terminal; end with Ctrl-D.")
        data = sys.stdin.buffer.read()
    else:
        data = _read(source, 4096)  # enough to tell the format; a package is never read whole
    if fmt == "auto":
        fmt = detect(data, name)
    elif fmt in ("tsv", "txt"):
        if options.delimiter is None and fmt == "tsv":
            options.delimiter = "\t"
        fmt = "csv"
    if name is not None and fmt not in ("apkg", "colpkg"):
        data = _read(source)
    new_text = None
    with collection() as col, _progress(not as_json, f"Importing {name or 'stdin'}") as progress:
        try:
            if fmt in ("apkg", "colpkg"):
                if name is None:
                    raise InvalidInput("an Anki package must be given as a file, not on stdin")
                summary = _apkg().import_package(col, Path(name), options, progress)
            else:
                summary, new_text = import_text_data(
                    col,
                    data,
                    fmt,
                    options,
                    progress,
                    name=name,
                    explicit_policy=on_duplicate is not None,
                )
        except ImportFailed as error:
            raise _failed(error) from None
    if new_text is not None and name is not None and not no_write_back:
        _write_atomic(Path(name), new_text.encode("utf-8"))
    if as_json:
        output.print_json(summary.to_json())
        return
    verb = "Would import" if summary.dry_run else "Imported"
    parts = [f"{summary.added} added", f"{summary.updated} updated", f"{summary.skipped} skipped"]
    if summary.errors:
        parts.append(f"{len(summary.errors)} with errors")
    line = f"{verb} {name or 'stdin'} ({fmt}): {', '.join(parts)}; {summary.cards} card(s)"
    if summary.decks:
        line += f", {summary.decks} new deck(s)"
    for message in summary.errors:
        output.info(f"warning: {message}")
    output.info(line + ".")
    if new_text is not None and name is not None and not no_write_back:
        output.info(f"Wrote note ids into {name}, so later edits update the same notes.")
    elif new_text is not None and name is None:
        output.info("Note ids were not written back (the file came from stdin).")


def export(
    query: Annotated[
        str, typer.Argument(help="Which cards' notes to export (a search); all if omitted.")
    ] = "",
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="apkg, csv, tsv, md or json.")
    ] = "json",
    out: Annotated[
        str, typer.Option("--output", "-o", help="File to write ('-' = stdout, not for apkg).")
    ] = "-",
    no_history: Annotated[
        bool, typer.Option("--no-history", help="apkg: leave out review history.")
    ] = False,
) -> None:
    """Export notes: CSV/TSV with Anki's headers, a Markdown deck, a JSON backup, or an .apkg.

    Examples: flipdeck export --format json -o backup.json ·
    flipdeck export 'deck:Spanish' --format md -o spanish.md
    """
    from flipdeck.cli.common import select_cards, select_notes

    fmt = fmt.lower()
    if fmt not in _EXPORT_FORMATS:
        raise InvalidInput(
            f"unknown format {fmt!r}", hint=f"Use one of {', '.join(_EXPORT_FORMATS)}."
        )
    with collection() as col:
        if fmt == "apkg":
            if out == "-":
                raise InvalidInput("an .apkg is a binary file", hint="Give --output FILE.apkg.")
            card_ids = select_cards(col, query) if query.strip() else None
            count = _apkg().export_package(
                col, Path(out), card_ids, include_history=not no_history, progress=lambda d, t: None
            )
            output.info(f"Exported {count} card(s) to {out} (apkg).")
            return
        if fmt == "json":
            from flipdeck.formats import jsonbackup

            card_ids = select_cards(col, query) if query.strip() else None
            text, count = jsonbackup.dump_text(col, card_ids)
        else:
            note_ids = (
                select_notes(col, query)
                if query.strip()
                else [
                    r[0]
                    for r in col.conn.execute(
                        "SELECT id FROM notes WHERE deleted = 0 ORDER BY created, id"
                    )
                ]
            )
            count = len(note_ids)
            if fmt in ("csv", "tsv"):
                from flipdeck.formats import csvfile

                text = csvfile.export_text(col, note_ids, "," if fmt == "csv" else "\t")
            else:
                from flipdeck.formats import markdown

                text = markdown.export_text(col, note_ids)
    if out == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        _write_atomic(Path(out), text.encode("utf-8"))
        output.info(f"Exported {count} note(s) to {out} ({fmt}).")

"""Provides format detection and the one transaction every text import runs in.

The format comes from the content first (a zip is an Anki package, a JSON object with our
marker is a backup, front matter or ``## `` headings make a Markdown deck) and from the file
name only when the content does not tell, because stdin has no name and people rename files.
"""

from __future__ import annotations

import gc
import re
from pathlib import PurePath

from flipdeck.formats.summary import ImportFailed, ImportOptions, ImportSummary, Progress

FORMATS = ("apkg", "colpkg", "csv", "tsv", "md", "json")
_MD_HEADING = re.compile(r"^##[ \t]+\S", re.M)


def detect(data: bytes, name: str | None = None) -> str:
    """``apkg``, ``colpkg``, ``json``, ``md`` or ``csv`` (which covers TSV and TXT)."""
    suffix = PurePath(name).suffix.lower() if name else ""
    if data[:4] == b"PK\x03\x04":
        return "colpkg" if suffix == ".colpkg" else "apkg"
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"{") and b'"flipdeck-backup"' in head:
        return "json"
    if suffix in (".md", ".markdown"):
        return "md"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix == ".json":
        return "json"
    text = head.decode("utf-8", "replace")
    if text.startswith("---\n") or _MD_HEADING.search(text):
        return "md"
    return "csv"


class _DryRun(Exception):
    """Raised to roll back a dry run once its summary is known."""


def import_text_data(
    col,
    data: bytes,
    fmt: str,
    options: ImportOptions,
    progress: Progress,
    *,
    name: str | None = None,
    explicit_policy: bool = False,
) -> tuple[ImportSummary, str | None]:
    """Import CSV/TSV, Markdown or a JSON backup in one transaction; a dry run does all the work
    and rolls it back, so what it reports is exactly what the import would do.

    Returns the summary and, for Markdown, the file text with ids written in (``None`` when the
    file needs no change).
    """
    from flipdeck.formats import csvfile, jsonbackup, markdown

    text = csvfile.decode(data, name or "the input")
    result: list = []
    # An import allocates a few long-lived objects per row and frees them together at the
    # end; the cyclic collector would rescan all of them again and again (about 15 % of a
    # 100k-row import) to find no cycles. It is switched back on however the import ends.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with col.transaction():
            if fmt == "csv":
                summary = csvfile.import_text(
                    col, text, options, progress, name=name, explicit_policy=explicit_policy
                )
                result[:] = [summary, None]
            elif fmt == "md":
                summary, new_text = markdown.import_text(
                    col, text, options, progress, name=name, explicit_policy=explicit_policy
                )
                result[:] = [summary, new_text]
            elif fmt == "json":
                result[:] = [
                    jsonbackup.restore_text(col, text, progress),
                    None,
                ]
            else:
                raise ImportFailed(f"{fmt} is not a text format")
            if options.dry_run:
                raise _DryRun
    except _DryRun:
        pass  # rolled back; the transaction's rollback dropped the caches too
    finally:
        if collecting:
            gc.enable()
    summary, new_text = result
    summary.dry_run = options.dry_run
    return summary, (None if options.dry_run else new_text)

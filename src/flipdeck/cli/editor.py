"""Provides editing a note in the user's editor, as git and gh do.

The editor is ``FLIPDECK_EDITOR``, else ``VISUAL``, else ``EDITOR``, else ``vi`` (none with
``TERM=dumb``); its value is a command line (``code --wait`` works). The note is written as
Markdown-like sections, one per field; an unchanged or emptied file changes nothing.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile

from flipdeck.core.errors import FlipdeckError, InvalidInput

_HEADER = "## "


def editor_command() -> list[str]:
    """The editor to run, as an argument list."""
    for name in ("FLIPDECK_EDITOR", "VISUAL", "EDITOR"):
        value = os.environ.get(name, "").strip()
        if value:
            return shlex.split(value)
    if os.environ.get("TERM") == "dumb":
        raise FlipdeckError(
            "no editor is set", hint="Set FLIPDECK_EDITOR or EDITOR, or pass --field NAME=VALUE."
        )
    return ["vi"]


def render(fields: dict[str, str], tags: list[str], title: str) -> str:
    """The text the user edits."""
    lines = [
        f"# {title}",
        "# Edit the text under each heading; lines starting with '# ' are ignored.",
        "",
    ]
    for name, value in fields.items():
        lines += [f"{_HEADER}{name}", value, ""]
    lines += [f"{_HEADER}Tags", " ".join(tags), ""]
    return "\n".join(lines)


def parse(text: str, field_names: list[str]) -> tuple[dict[str, str], list[str]]:
    """Field values and tags from edited text."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith(_HEADER):
            current = line[len(_HEADER) :].strip()
            if current != "Tags" and current not in field_names:
                raise InvalidInput(
                    f"unknown heading {current!r} in the edited note",
                    hint=f"Headings must be the fields: {', '.join(field_names)}, and Tags.",
                )
            sections[current] = []
        elif line.startswith("# ") and current is None:
            continue
        elif current is not None:
            sections[current].append(line)
    values = {name: "\n".join(lines).strip("\n") for name, lines in sections.items()}
    tags = values.pop("Tags", "").split()
    return values, tags


def edit_text(text: str) -> str | None:
    """Run the editor on ``text``; ``None`` if the user left it unchanged or empty."""
    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False, encoding="utf-8") as f:
        f.write(text)
        path = f.name
    try:
        try:
            code = subprocess.call([*editor_command(), path])
        except FileNotFoundError as error:
            raise FlipdeckError(
                f"cannot run the editor: {error}", hint="Set FLIPDECK_EDITOR or EDITOR."
            ) from None
        if code != 0:
            raise FlipdeckError(f"the editor exited with status {code}; nothing changed")
        with open(path, encoding="utf-8") as f:
            edited = f.read()
    finally:
        os.unlink(path)
    if not edited.strip() or edited == text:
        return None
    return edited


def edit_note(col, note) -> bool:
    """Edit ``note`` in the editor and save it (the caller holds no transaction)."""
    from flipdeck.store import notes, notetypes

    notetype = notetypes.load(col, note.notetype_id)
    current = notetype.values_by_name(note.fields)
    edited = edit_text(render(current, list(note.tags), f"{notetype.name} note {note.id}"))
    if edited is None:
        return False
    values, tags = parse(edited, list(current))
    with col.transaction():
        notes.edit(col, note, {k: v for k, v in values.items() if current.get(k) != v})
        notes.set_tags(col, notes.load(col, note.id), tags)
    return True

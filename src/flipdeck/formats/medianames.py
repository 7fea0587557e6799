"""Provides media file names as Anki normalises them, and rewriting the references notes make.

Anki's rules (``anki-formats.md`` §1): NFC; drop ``[ ] < > : " / ? * ^ \\ |``, ASCII control
characters and unassigned code points; a no-break space becomes a space; Windows device names
(``CON``, ``PRN``, ``AUX``, ``NUL``, ``COM1``–``9``, ``LPT1``–``9``) get ``_`` appended, as does a
name ending in a space or a period; at most 120 bytes, keeping the extension.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from html import escape, unescape

MAX_BYTES = 120
_DISALLOWED = set('[]<>:"/?*^\\|')
_DEVICE = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\.|$)", re.IGNORECASE)


def _allowed(char: str) -> bool:
    if char in _DISALLOWED or ord(char) < 32 or ord(char) == 127:
        return False
    return unicodedata.category(char) != "Cn"


def _truncate(name: str, limit: int) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode("utf-8")) > limit // 2:
        stem, ext = name, ""
    room = limit - (len(ext.encode("utf-8")) + 1 if ext else 0)
    cut = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return f"{cut}.{ext}" if ext else cut


def normalize_filename(name: str) -> str:
    """``name`` as Anki would store it (may be empty when nothing usable is left)."""
    name = unicodedata.normalize("NFC", name).replace("\u00a0", " ")
    name = "".join(c for c in name if _allowed(c))
    name = _DEVICE.sub(r"\1_\2", name)
    name = _truncate(name, MAX_BYTES)
    if name.endswith((" ", ".")):
        name = _truncate(name, MAX_BYTES - 1) + "_"
    return name


_REFERENCE = re.compile(
    r"(?P<img><img\b[^>]*?\bsrc\s*=\s*)(?:(?P<q>[\"'])(?P<name>.*?)(?P=q)|(?P<bare>[^\"'\s>]+))"
    r"|\[sound:(?P<sname>[^\]]+)\]",
    re.IGNORECASE | re.DOTALL,
)


def rename_references(html: str, renamed: Mapping[str, str]) -> str:
    """``html`` with ``<img src>`` and ``[sound:…]`` references renamed as ``renamed`` says."""
    if not renamed or ("<img" not in html.lower() and "[sound:" not in html):
        return html

    def new_name(old: str) -> str | None:
        return renamed.get(old) or renamed.get(unescape(old))

    def swap(m: re.Match) -> str:
        if m.group("sname") is not None:
            new = new_name(m.group("sname"))
            return f"[sound:{new}]" if new else m.group(0)
        quote = m.group("q")
        new = new_name(m.group("name") if quote else m.group("bare"))
        if not new:
            return m.group(0)
        quote = quote or '"'
        return m.group("img") + quote + escape(new) + quote

    return _REFERENCE.sub(swap, html)

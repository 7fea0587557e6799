"""Provides the subset of HTML that real decks use, turned into plain text or styled spans.

Anki fields are HTML written by a browser-based editor, so a terminal client needs two views of
them: plain text (for search, sort keys and duplicate checks, where speed matters) and styled
text pieces a terminal can draw. The style strings follow rich's syntax ("bold italic"), but
nothing here imports rich: the core stays free of presentation libraries.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

# --- plain text -----------------------------------------------------------------------------

_DROPPED = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
# A tag starts with a letter (or "/" and a letter), so "a < b" in sloppy HTML survives.
# Quoted attribute values may contain ">". Possessive quantifiers keep the scan linear.
_TAG_BODY = r"[^>\"']*+(?:(?:\"[^\"]*+\"|'[^']*+')[^>\"']*+)*+>"
_BREAKING_NAMES = r"</?(?:br|div|p|li|tr|h[1-6]|ul|ol|table|blockquote|pre|hr)\b" + _TAG_BODY
# Case-insensitive matching is three times slower, so it only runs when a tag has capitals.
_BREAKING = re.compile(_BREAKING_NAMES)
_BREAKING_ANY_CASE = re.compile(_BREAKING_NAMES, re.IGNORECASE)
_CAPITAL_TAG = re.compile(r"</?[A-Z]")
_CELL = re.compile(r"<t[dh]\b" + _TAG_BODY, re.IGNORECASE)
_ANY_TAG = re.compile(r"</?[a-zA-Z]" + _TAG_BODY + r"|<![^>]*>|<\?[^>]*>")
_SOUND = re.compile(r"\[sound:([^\]]+)\]")
_IMG_SRC = re.compile(
    r"<img\b[^>]*?\bsrc\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.IGNORECASE
)


def strip_html(html: str) -> str:
    """Plain text of ``html``: block tags become line breaks, entities are decoded.

    Runs of blank lines collapse to one line break, because they are markup artefacts
    (``<div><br></div>``) that would make equal notes look different to a duplicate check.
    """
    if "<" in html:
        if "<!" in html or "<s" in html or "<S" in html:
            html = _DROPPED.sub("", html)
        breaking = _BREAKING_ANY_CASE if _CAPITAL_TAG.search(html) else _BREAKING
        html = breaking.sub("\n", html)
        if "<t" in html or "<T" in html:
            html = _CELL.sub(" ", html)
        html = _ANY_TAG.sub("", html)
    if "&" in html:
        html = unescape(html.replace("&nbsp;", " "))
    if "\n" not in html and "\r" not in html:
        return " ".join(html.split())
    return "\n".join(filter(None, (" ".join(line.split()) for line in html.splitlines())))


def media_references(html: str) -> list[str]:
    """File names referenced by ``<img src>`` and ``[sound:…]``, in order, without repeats."""
    names: list[tuple[int, str]] = []
    for m in _IMG_SRC.finditer(html):
        names.append((m.start(), unescape(next(g for g in m.groups() if g is not None))))
    for m in _SOUND.finditer(html):
        names.append((m.start(), m.group(1).strip()))
    names.sort()
    return list(dict.fromkeys(name for _, name in names if name))


# --- styled spans ---------------------------------------------------------------------------

_INLINE_STYLES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "s": "strike",
    "strike": "strike",
    "del": "strike",
    "code": "bold cyan",
    "kbd": "bold cyan",
    "pre": "bold cyan",
    "th": "bold",
    **{f"h{n}": "bold" for n in range(1, 7)},
}
_CLASS_STYLES = {
    "cloze": "bold blue",
    "typegood": "bold green",
    "typebad": "bold red strike",
    "hint": "dim",
}
_BLOCKS = frozenset({"div", "p", "pre", "blockquote", "ul", "ol", "table", "tr"}) | {
    f"h{n}" for n in range(1, 7)
}
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "wbr", "source", "area", "col"})
_SKIPPED = frozenset({"script", "style"})
_CELLS = frozenset({"td", "th"})
# Elements a new one closes when left open (as browsers do), and the ancestors that stop it.
_IMPLIED_END = {
    "td": (_CELLS, frozenset({"tr", "table"})),
    "th": (_CELLS, frozenset({"tr", "table"})),
    "tr": (_CELLS | {"tr"}, frozenset({"table"})),
    "li": (frozenset({"li"}), frozenset({"ul", "ol"})),
}
_SPACE = re.compile(r"[ \t\n\r\f]+")
_SUPER = dict(
    zip(
        "0123456789+-−=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW ",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂ ",
        strict=True,
    )
)
_SUB = dict(
    zip("0123456789+-−=()aehijklmnoprstuvx ", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ ", strict=True)
)


def _script(text: str, tag: str) -> str:
    """``text`` in Unicode sub/superscript, or ``_(text)``/``^(text)`` if a character lacks one."""
    table = _SUB if tag == "sub" else _SUPER
    if all(c in table for c in text):
        return "".join(table[c] for c in text)
    return f"{'_' if tag == 'sub' else '^'}({text})"


class _SpanBuilder(HTMLParser):
    """Walks the HTML once, keeping a stack of open styles and the list context."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[list[str]] = []  # [text, style] pairs
        self.stack: list[tuple[str, str]] = []  # (tag, style it added, maybe "")
        self.lists: list[list] = []  # [tag, counter]
        self.cells: list[int] = []  # cells seen in the current row, per open table
        self.skip = 0
        self.pre = 0
        self.open_cells = 0
        self.pre_start = False  # just after <pre>, whose first newline browsers drop
        self.after_marker = False  # just after "• ", where a block must not break the line
        self.script: tuple[str, str, list[str]] | None = None  # (tag, style, text) of sub/sup

    # output helpers
    def style(self) -> str:
        words: list[str] = []
        for _, added in self.stack:
            for word in added.split():
                if word not in words:
                    words.append(word)
        return " ".join(words)

    def last_char(self) -> str:
        for text, _ in reversed(self.out):
            if text:
                return text[-1]
        return "\n"

    def emit(self, text: str, style: str | None = None) -> None:
        if text:
            self.out.append([text, self.style() if style is None else style])
            self.pre_start = self.after_marker = False

    def trim_line_end(self) -> None:
        for piece in reversed(self.out):
            piece[0] = piece[0].rstrip(" ")
            if piece[0]:
                return

    def newline(self) -> None:
        """Ends the current line unless already at a line start, so blocks never pile up.

        Inside a table cell a break becomes a space, so a row stays on one line.
        """
        if self.open_cells:
            if self.last_char() not in " \n":
                self.emit(" ", "")
        elif self.last_char() != "\n" and not self.after_marker:
            self.trim_line_end()
            self.emit("\n", "")

    # parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skip += 1
            return
        if self.skip or self.script is not None:
            return
        attr = {k: v or "" for k, v in attrs}
        if tag == "br" and self.open_cells:
            self.newline()
        elif tag == "br":
            self.trim_line_end()
            self.emit("\n", "")
        elif tag == "hr":
            self.newline()
            self.emit("─" * 20, "")
            self.emit("\n", "")
        elif tag == "img":
            src = attr.get("src", "").strip()
            self.emit(f"[image: {src}]" if src else "[image]", "dim")
        elif tag in ("sub", "sup"):
            self.script = (tag, self.style(), [])
        elif tag not in _VOID:
            self.open_element(tag, attr)

    def close_implied(self, tag: str) -> None:
        closes, stops = _IMPLIED_END[tag]
        for i in range(len(self.stack) - 1, -1, -1):
            open_tag = self.stack[i][0]
            if open_tag in stops:
                return
            if open_tag in closes:
                while len(self.stack) > i:
                    self.close_element(self.stack.pop()[0])
                return

    def open_element(self, tag: str, attr: dict[str, str]) -> None:
        if tag in _IMPLIED_END:
            self.close_implied(tag)
        added = _INLINE_STYLES.get(tag, "")
        if tag == "span":
            classes = attr.get("class", "").casefold().split()
            added = " ".join(_CLASS_STYLES[c] for c in classes if c in _CLASS_STYLES)
        if tag in ("ul", "ol", "li"):
            self.after_marker = False  # a nested list or an empty item still breaks the line
        if tag in _BLOCKS:
            self.newline()
        if tag in ("ul", "ol"):
            self.lists.append([tag, 0])
        elif tag == "li":
            self.newline()
            depth = max(len(self.lists), 1)
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                marker = f"{self.lists[-1][1]}. "
            else:
                marker = "• "
            self.emit("  " * (depth - 1) + marker)
            self.after_marker = True
        elif tag == "table":
            self.cells.append(0)
        elif tag == "tr" and self.cells:
            self.cells[-1] = 0
        elif tag in _CELLS:
            if self.cells and self.cells[-1]:
                self.trim_line_end()
                self.emit(" │ ", "")
            if self.cells:
                self.cells[-1] += 1
            self.open_cells += 1
        elif tag == "pre":
            self.pre += 1
            self.pre_start = True
        self.stack.append((tag, added))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skip = max(self.skip - 1, 0)
            return
        if self.skip:
            return
        if self.script is not None:
            if tag == self.script[0]:
                self.flush_script()
            return
        if not any(open_tag == tag for open_tag, _ in self.stack):
            return  # a stray end tag: browsers ignore it too
        while self.stack:
            open_tag, _ = self.stack.pop()
            self.close_element(open_tag)
            if open_tag == tag:
                break

    def close_element(self, tag: str) -> None:
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "table" and self.cells:
            self.cells.pop()
        elif tag == "pre":
            self.pre -= 1
        elif tag in _CELLS and self.open_cells:
            self.open_cells -= 1
        if tag == "li":
            self.after_marker = False
        if tag in _BLOCKS or tag == "li":
            self.newline()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.script is not None:
            self.script[2].append(data)
            return
        if self.pre:
            if self.pre_start:
                data = data.removeprefix("\n")
            self.emit_with_sounds(data)
            return
        text = _SPACE.sub(" ", data)
        if text == " " and self.cells and not self.open_cells:
            return  # whitespace between table cells
        if text.startswith(" ") and self.last_char() in " \n":
            text = text[1:]
        self.emit_with_sounds(text.replace("\xa0", " "))

    def emit_with_sounds(self, text: str) -> None:
        pos = 0
        for m in _SOUND.finditer(text):
            self.emit(text[pos : m.start()])
            self.emit(f"[sound: {m.group(1).strip()}]", "dim")
            pos = m.end()
        self.emit(text[pos:])

    def flush_script(self) -> None:
        assert self.script is not None
        tag, style, parts = self.script
        self.script = None
        text = " ".join("".join(parts).split())
        if text:
            self.emit(_script(text, tag), style)

    def result(self) -> list[tuple[str, str]]:
        if self.script is not None:
            self.flush_script()
        merged: list[tuple[str, str]] = []
        for text, style in self.out:
            if merged and merged[-1][1] == style:
                merged[-1] = (merged[-1][0] + text, style)
            elif text:
                merged.append((text, style))
        return _trim_blank_lines(merged)


def _trim_blank_lines(spans: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drops blank lines (and trailing spaces) at both ends of the whole output."""
    full = "".join(text for text, _ in spans)
    start = len(full) - len(full.lstrip(" \n")) if full.strip(" \n") else len(full)
    start = full.rfind("\n", 0, start) + 1  # keep the first line's indentation (pre)
    end = len(full.rstrip(" \n"))
    trimmed: list[tuple[str, str]] = []
    pos = 0
    for text, style in spans:
        lo, hi = max(start - pos, 0), min(end - pos, len(text))
        if lo < hi:
            trimmed.append((text[lo:hi], style))
        pos += len(text)
    return trimmed


def to_spans(html: str) -> list[tuple[str, str]]:
    """Text pieces of ``html`` with a rich-style string each; malformed HTML never raises."""
    builder = _SpanBuilder()
    try:
        builder.feed(html)
        builder.close()
    except Exception:  # HTMLParser is lenient; this only guards against its rare internal errors
        text = strip_html(html)
        return [(text, "")] if text else []
    return builder.result()

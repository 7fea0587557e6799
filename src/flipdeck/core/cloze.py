"""Provides cloze deletions: ``{{c1::answer}}`` and ``{{c1::answer::hint}}``, nested or not.

The parser follows Anki's: ``{{cN::`` opens a deletion, ``}}`` closes the innermost open one,
and anything that does not balance is plain text, because cloze markup lives in note fields
that users type by hand and a stray brace must never lose their text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

FRONT, BACK = "front", "back"

_TOKEN = re.compile(r"\{\{c(\d+)::|\}\}")
_MAX_DEPTH = 10  # Anki's nesting limit; deeper openings are kept as text
_NONE_ACTIVE = -1  # a number no deletion has (the parser only reads digits)


@dataclass
class _Cloze:
    """One deletion: its number, its content (text and nested deletions) and its hint."""

    number: int
    opening: str
    nodes: list[str | _Cloze] = field(default_factory=list)
    hint: str | None = None


def _split_hint(cloze: _Cloze) -> None:
    """Moves everything after the first direct ``::`` of the deletion into its hint."""
    for i, node in enumerate(cloze.nodes):
        if isinstance(node, str) and "::" in node:
            answer, rest = node.split("::", 1)
            tail = [rest, *cloze.nodes[i + 1 :]]
            cloze.nodes = [*cloze.nodes[:i], answer] if answer else cloze.nodes[:i]
            cloze.hint = "".join(_answer_text(n) for n in tail)
            return


@lru_cache(maxsize=1024)
def _parse(text: str) -> tuple[str | _Cloze, ...]:
    output: list[str | _Cloze] = []
    open_clozes: list[_Cloze] = []
    pos = 0

    def add(node: str | _Cloze) -> None:
        (open_clozes[-1].nodes if open_clozes else output).append(node)

    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            add(text[pos : m.start()])
        pos = m.end()
        if m.group(1) is not None:
            if len(open_clozes) < _MAX_DEPTH:
                open_clozes.append(_Cloze(int(m.group(1)), m.group(0)))
            else:
                add(m.group(0))
        elif open_clozes:
            closed = open_clozes.pop()
            _split_hint(closed)
            add(closed)
        else:
            add("}}")
    if pos < len(text):
        add(text[pos:])
    # Unclosed deletions fall back to their literal text; complete ones inside them survive.
    for unclosed in open_clozes:
        output.append(unclosed.opening)
        output.extend(unclosed.nodes)
    return tuple(output)


def _answer_text(node: str | _Cloze) -> str:
    if isinstance(node, str):
        return node
    return "".join(_answer_text(n) for n in node.nodes)


def _numbers(nodes, found: set[int]) -> None:
    for node in nodes:
        if isinstance(node, _Cloze):
            if node.number > 0:
                found.add(node.number)
            _numbers(node.nodes, found)


def cloze_numbers(text: str) -> set[int]:
    """Every deletion number in ``text``, nested ones included; each makes one card."""
    found: set[int] = set()
    _numbers(_parse(text), found)
    return found


def _render(nodes, number: int, side: str) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            parts.append(node)
        elif node.number != number:
            parts.append(_render(node.nodes, number, side))
        elif side == FRONT:
            parts.append(f"<span class=cloze>[{node.hint or '...'}]</span>")
        else:
            # Inside the active deletion, nested deletions are simply revealed.
            parts.append(f"<span class=cloze>{_render(node.nodes, _NONE_ACTIVE, side)}</span>")
    return "".join(parts)


def render_cloze(text: str, number: int, side: str) -> str:
    """``text`` as card ``number`` shows it on ``side`` ("front" or "back").

    A ``number`` below 1 hides nothing, which is how a cloze field shows outside a cloze card.
    """
    if side not in (FRONT, BACK):
        raise ValueError(f"side must be {FRONT!r} or {BACK!r}, not {side!r}")
    return _render(_parse(text), number if number > 0 else _NONE_ACTIVE, side)


def _answers(nodes, number: int, found: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Cloze):
            if node.number == number:
                found.append(_answer_text(node))
            else:
                _answers(node.nodes, number, found)


def cloze_answers(text: str, number: int) -> list[str]:
    """The answers (HTML) of deletion ``number``, in order, for checking a typed answer."""
    found: list[str] = []
    if number > 0:
        _answers(_parse(text), number, found)
    return found

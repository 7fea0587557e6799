"""Provides Anki's card template language: field replacements, sections, filters.

Templates are parsed once into a small tree (cached by their text, since every card of a note
type shares them) and then evaluated against a note. The rules follow Anki's renderer, because
decks imported from Anki must show, and generate, the same cards here as there.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from flipdeck.core.cloze import BACK, FRONT, cloze_answers, render_cloze
from flipdeck.core.errors import InvalidInput
from flipdeck.core.html import strip_html

SPECIAL_FIELDS = frozenset({"FrontSide", "Tags", "Deck", "Subdeck", "Type", "Card"})
"""Names the renderer fills in itself; they never make a card exist."""

_HANDLEBAR = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_MEDIA_TAG = re.compile(r"<(?:img|audio|video|object|embed|iframe|svg)\b", re.IGNORECASE)
_TYPE_PLACEHOLDER = re.compile(
    r'<span class=type-answer data-field="[^"]*">\[type the answer\]</span>'
)
_HELP = "Check that every {{#Field}} or {{^Field}} has a matching {{/Field}}, innermost first."


@dataclass(frozen=True)
class CardContext:
    """Everything a template can show about one card of one note."""

    fields: Mapping[str, str]  # field name -> HTML value
    tags: str = ""  # space separated
    deck: str = ""
    notetype: str = ""
    card: str = ""  # template name, or "Cloze N"
    cloze: int | None = None  # active cloze number for cloze cards
    typed: str | None = None  # what the user typed, for the back side's {{type:…}}


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Replacement:
    key: str
    filters: tuple[str, ...]  # as written, leftmost first; applied right to left


@dataclass(frozen=True)
class _Section:
    key: str
    inverted: bool
    children: tuple[_Node, ...]


_Node = _Text | _Replacement | _Section


def _split_replacement(inner: str) -> tuple[str, tuple[str, ...]]:
    *filters, key = inner.split(":")
    return key.strip(), tuple(f.strip() for f in filters)


@lru_cache(maxsize=512)
def _parse(template: str) -> tuple[_Node, ...]:
    root: list[_Node] = []
    stack: list[tuple[str, bool, list[_Node]]] = []  # open sections: key, inverted, children
    pos = 0
    for m in _HANDLEBAR.finditer(template):
        nodes = stack[-1][2] if stack else root
        if m.start() > pos:
            nodes.append(_Text(template[pos : m.start()]))
        pos = m.end()
        inner = m.group(1).strip()
        sigil, name = inner[:1], inner[1:].strip()
        if sigil in ("#", "^"):
            if not name:
                raise InvalidInput(f"template has {m.group(0)} without a field name", hint=_HELP)
            stack.append((name, sigil == "^", []))
        elif sigil == "/":
            if not stack:
                raise InvalidInput(
                    f"template closes {{{{/{name}}}}} but no section is open", hint=_HELP
                )
            key, inverted, children = stack.pop()
            if key != name:
                opener = "^" if inverted else "#"
                raise InvalidInput(
                    f"template closes {{{{/{name}}}}} but the open section is "
                    f"{{{{{opener}{key}}}}}",
                    hint=_HELP,
                )
            (stack[-1][2] if stack else root).append(_Section(key, inverted, tuple(children)))
        else:
            key, filters = _split_replacement(inner)
            nodes.append(_Replacement(key, filters))
    rest = template[pos:]
    if "{{" in rest:
        snippet = rest[rest.index("{{") :][:30]
        raise InvalidInput(
            f"template has {snippet!r} without a closing '}}}}'",
            hint="Every {{ in a template must be closed by }}.",
        )
    if stack:
        key, inverted, _ = stack[-1]
        opener = "^" if inverted else "#"
        raise InvalidInput(
            f"template opens {{{{{opener}{key}}}}} but never closes it with {{{{/{key}}}}}",
            hint=_HELP,
        )
    if rest:
        root.append(_Text(rest))
    return tuple(root)


def field_is_empty(value: str) -> bool:
    """Whether a field counts as empty: only whitespace and markup, no text and no media."""
    if "<" not in value and "&" not in value:
        return not value.strip()
    return not strip_html(value) and not _MEDIA_TAG.search(value)


# --- rendering ------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _type_answer(value: str, filters: tuple[str, ...], key: str, ctx: CardContext, side: str):
    """``{{type:…}}``: a placeholder on the front, the typed-versus-expected check on the back."""
    if side == FRONT:
        return f'<span class=type-answer data-field="{html.escape(key)}">[type the answer]</span>'
    if "cloze" in filters:
        answers = list(dict.fromkeys(cloze_answers(value, ctx.cloze or 0)))
        value = ", ".join(answers)
    expected = _normalise(strip_html(value))
    typed = _normalise(ctx.typed or "")
    if not typed:
        return html.escape(expected)
    if typed == expected:
        return f"<span class=typeGood>{html.escape(expected)}</span>"
    return (
        f"<span class=typeBad>{html.escape(typed)}</span> → "
        f"<span class=typeGood>{html.escape(expected)}</span>"
    )


def _apply_filters(value: str, filters: tuple[str, ...], ctx: CardContext, side: str) -> str:
    for name in reversed(filters):
        if name == "cloze":
            value = render_cloze(value, ctx.cloze or 0, side)
        elif name == "text":
            value = html.escape(strip_html(value), quote=False)
        elif name == "hint":
            value = f"<span class=hint>{value}</span>" if not field_is_empty(value) else ""
        # Any other filter (furigana, tts, …) passes the value through, as Anki's unknown ones do.
    return value


def _lookup(key: str, ctx: CardContext, front_html: str | None) -> str | None:
    if key == "FrontSide":
        return _TYPE_PLACEHOLDER.sub("", front_html) if front_html is not None else ""
    specials = {
        "Tags": ctx.tags.strip(),
        "Deck": ctx.deck,
        "Subdeck": ctx.deck.rsplit("::", 1)[-1],
        "Type": ctx.notetype,
        "Card": ctx.card,
    }
    if key in specials:
        return html.escape(specials[key], quote=False)
    return ctx.fields.get(key)


def _render(nodes, ctx: CardContext, side: str, front_html: str | None, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Replacement):
            value = _lookup(node.key, ctx, front_html)
            if value is None:
                out.append(f"{{unknown field {html.escape(node.key)}}}")
            elif node.filters and node.filters[0] == "type":
                out.append(_type_answer(value, node.filters[1:], node.key, ctx, side))
            elif node.key == "FrontSide":
                out.append(value)
            else:
                out.append(_apply_filters(value, node.filters, ctx, side))
        else:
            value = _lookup(node.key, ctx, front_html)
            if value is None:
                out.append(f"{{unknown field {html.escape(node.key)}}}")
            if field_is_empty(value or "") == node.inverted:
                _render(node.children, ctx, side, front_html, out)


def render_front(template: str, ctx: CardContext) -> str:
    """The question side of a card as HTML."""
    out: list[str] = []
    _render(_parse(template), ctx, FRONT, None, out)
    return "".join(out)


def render_back(template: str, ctx: CardContext, front_html: str) -> str:
    """The answer side as HTML; ``{{FrontSide}}`` shows ``front_html`` minus its type-in box."""
    out: list[str] = []
    _render(_parse(template), ctx, BACK, front_html, out)
    return "".join(out)


# --- analysis -------------------------------------------------------------------------------


def _reaches_nonempty(nodes, fields: Mapping[str, str]) -> bool:
    def filled(key: str) -> bool:
        return key not in SPECIAL_FIELDS and not field_is_empty(fields.get(key, ""))

    for node in nodes:
        if isinstance(node, _Replacement) and filled(node.key):
            return True
        if (
            isinstance(node, _Section)
            and filled(node.key) != node.inverted
            and _reaches_nonempty(node.children, fields)
        ):
            return True
    return False


def front_is_nonempty(template: str, fields: Mapping[str, str]) -> bool:
    """Anki's card-generation rule: some reachable field reference names a non-empty field.

    Static text does not count, so ``Question: {{Front}}`` makes no card for an empty Front.
    """
    return _reaches_nonempty(_parse(template), fields)


def _replacements(template: str):
    """(key, filters) of every ``{{…}}`` that is not a section tag, without checking balance."""
    for m in _HANDLEBAR.finditer(template):
        inner = m.group(1).strip()
        if inner[:1] not in ("#", "^", "/"):
            yield _split_replacement(inner)


def type_answer_field(template: str) -> str | None:
    """The field of the first ``{{type:X}}`` or ``{{type:cloze:X}}``, else None."""
    for key, filters in _replacements(template):
        if filters and filters[0] == "type":
            return key
    return None


def cloze_fields(template: str) -> list[str]:
    """Fields shown through the ``cloze`` filter, in order: they decide a cloze note's cards."""
    keys = (key for key, filters in _replacements(template) if "cloze" in filters)
    return list(dict.fromkeys(keys))


def referenced_fields(template: str) -> set[str]:
    """Note fields the template mentions anywhere (replacements and sections), specials excluded."""
    names = set()
    for m in _HANDLEBAR.finditer(template):
        inner = m.group(1).strip()
        if inner[:1] in ("#", "^", "/"):
            names.add(inner[1:].strip())
        else:
            names.add(_split_replacement(inner)[0])
    names.discard("")
    return names - SPECIAL_FIELDS


def _check_field_name(name: str) -> None:
    if not name.strip() or name != name.strip():
        raise InvalidInput(f"field name {name!r} is empty or has surrounding spaces")
    if name[0] in "#^/" or any(c in name for c in ':{}"'):
        raise InvalidInput(
            f"field name {name!r} cannot be used in templates",
            hint='Field names may not start with #, ^ or / nor contain :, ", { or }.',
        )


def rename_field_references(template: str, old: str, new: str) -> str:
    """``template`` with every reference to field ``old`` pointing at ``new`` instead.

    Only the name inside each ``{{…}}`` changes, so the rest of the user's text (spacing,
    filters, other markup) stays byte-for-byte as they wrote it.
    """
    _check_field_name(new)

    def rename(m: re.Match[str]) -> str:
        inner = m.group(1)
        stripped = inner.strip()
        if stripped[:1] in ("#", "^", "/"):
            head, name = stripped[:1], stripped[1:]
            prefix = inner[: inner.index(head) + 1]
        else:
            head, _, name = inner.rpartition(":")
            prefix = head + ":" if head or ":" in inner else ""
        if name.strip() != old:
            return m.group(0)
        lead = name[: len(name) - len(name.lstrip())]
        trail = name[len(name.rstrip()) :]
        if stripped[:1] in ("#", "^", "/"):
            trail += inner[len(inner.rstrip()) :]
        return "{{" + prefix + lead + new + trail + "}}"

    return _HANDLEBAR.sub(rename, template)

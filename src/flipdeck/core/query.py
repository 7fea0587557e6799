"""Provides the search language's parser: query text in, a small immutable syntax tree out.

The language is Anki's common subset (see ``flipdeck help search``). Terms separated by
whitespace (or the word ``and``) are ANDed, ``or`` between terms ORs them, parentheses group
and a leading ``-`` negates a term or a group. **AND binds tighter than OR**, as in SQL and in
Anki (whose SQL writer emits the terms in order and lets SQLite's precedence decide), so
``dog cat or mouse`` is ``(dog AND cat) OR mouse`` and ``dog (cat or mouse)`` needs the
parentheses. Every check that can be made without the collection is made here, so a
:class:`QueryError` always carries the position of the offending character and the store never
has to reject a tree.

Values of pattern terms (words, fields, decks, tags, note types, card types) are kept in one
canonical *glob* form: ``*`` matches any run of characters, ``_`` exactly one, and ``\\*``,
``\\_``, ``\\\\`` are the literal characters; every other escape and all quoting is resolved.
:func:`glob_pieces` splits such a value for whoever translates it (SQL ``LIKE``, a regex).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from flipdeck.core.errors import QueryError

TEXT, FIELD, DECK, TAG, IS, FLAG, PROP = "text", "field", "deck", "tag", "is", "flag", "prop"
RATED, ADDED, NOTE, CARD, NID, CID = "rated", "added", "note", "card", "nid", "cid"
PATTERN_KINDS = frozenset({TEXT, FIELD, DECK, TAG, NOTE, CARD})
"""Kinds whose value is a glob (see the module docstring)."""
STATES = frozenset({"new", "learn", "review", "due", "suspended", "buried"})
PROPERTIES = {"ivl": int, "due": int, "reps": int, "lapses": int, "s": float, "d": float}
"""``prop:`` names and the type of number each compares with."""
OPERATORS = ("<=", ">=", "!=", "<", ">", "=")
MAX_DEPTH = 100
"""Nesting (groups and negations) deeper than this is refused rather than overflowing the stack."""
_MAX_INT = 2**53
_ESCAPABLE = frozenset('\\"*_:()-')
_KEYS = frozenset({DECK, TAG, IS, FLAG, PROP, RATED, ADDED, NOTE, CARD, NID, CID})

Value = str | int | float | tuple[int, ...] | tuple[str, ...]


@dataclass(frozen=True)
class Term:
    """One search condition.

    ``kind`` is one of the kind constants. ``value`` is a glob for pattern kinds, the state
    name for ``is``, an int for ``flag`` and ``added``, an int or float for ``prop``,
    ``(days,)`` or ``(days, rating)`` for ``rated`` and a tuple of ids for ``nid``/``cid``.
    ``key`` is the field-name glob (``field``) or property name (``prop``), else ``""``; ``op``
    is the comparison of a ``prop`` term, else ``""``. ``position`` (the index of the term's
    first character) is left out of equality so trees can be compared by meaning.
    """

    kind: str
    key: str
    value: Value
    op: str = ""
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Not:
    """Cards the inner node does not match."""

    node: Node


@dataclass(frozen=True)
class And:
    """Cards every child matches (two or more children)."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Cards at least one child matches (two or more children)."""

    children: tuple[Node, ...]


Node = Term | Not | And | Or

# A character of a term after quoting and escaping: (char, index in the query, was escaped).
_Char = tuple[str, int, bool]


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "-", "or", "and", "term" or "end"
    position: int
    chars: tuple[_Char, ...] = ()
    end: int = 0


def parse(query: str) -> Node | None:
    """The tree of ``query``, or ``None`` when it is empty (which matches every card).

    Raises :class:`QueryError` with the offending character's position when it does not parse.
    """
    tokens = _tokenize(query)
    if tokens[0].kind == "end":
        return None
    return _Parser(query, tokens).parse()


def glob_pieces(value: str) -> Iterator[tuple[str, str]]:
    """Split a glob into ``("text", literal)``, ``("any", "*")`` and ``("one", "_")`` pieces."""
    literal: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch in "*_":
            if literal:
                yield "text", "".join(literal)
                literal = []
            yield ("any" if ch == "*" else "one"), ch
        elif ch == "\\":
            literal.append(next(chars, "\\"))
        else:
            literal.append(ch)
    if literal:
        yield "text", "".join(literal)


def has_wildcards(value: str) -> bool:
    """Whether a glob has an unescaped ``*`` or ``_``."""
    return any(kind != "text" for kind, _ in glob_pieces(value))


def literal(value: str) -> str:
    """A glob's text with escapes resolved and wildcards taken literally."""
    return "".join(text for _, text in glob_pieces(value))


# -- tokens -------------------------------------------------------------------------------------


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token(ch, i))
            i += 1
        elif ch == "-":
            after = query[i + 1] if i + 1 < n else ""
            if not after or after.isspace() or after == ")":
                raise QueryError("'-' must be followed by a term or a group", query, i)
            tokens.append(_Token("-", i))
            i += 1
        else:
            token, i = _read_term(query, i)
            tokens.append(token)
    tokens.append(_Token("end", n))
    return tokens


def _read_term(query: str, start: int) -> tuple[_Token, int]:
    """Read one term: unquoted runs and quoted runs, up to whitespace or a parenthesis."""
    chars: list[_Char] = []
    quoted = False
    i, n = start, len(query)
    while i < n:
        ch = query[i]
        if ch == '"':
            quoted, opening = True, i
            i += 1
            while True:
                if i >= n:
                    raise QueryError("this quote is never closed", query, opening)
                if query[i] == '"':
                    i += 1
                    break
                i = _read_char(query, i, chars)
        elif ch.isspace() or ch in "()":
            break
        else:
            i = _read_char(query, i, chars)
    text = "".join(c for c, _, _ in chars)
    if not quoted and text.casefold() in ("or", "and") and not any(e for _, _, e in chars):
        return _Token(text.casefold(), start), i
    return _Token("term", start, tuple(chars), i), i


def _read_char(query: str, i: int, chars: list[_Char]) -> int:
    """Append the character at ``i`` (resolving a backslash escape); return the next index.

    A backslash before anything but ``\\ " * _ : ( ) -`` is kept literally (so LaTeX searches
    such as ``\\frac`` work), as is one at the very end.
    """
    if query[i] == "\\":
        if i + 1 < len(query) and query[i + 1] in _ESCAPABLE:
            chars.append((query[i + 1], i + 1, True))
            return i + 2
        chars.append(("\\", i, True))
        return i + 1
    chars.append((query[i], i, False))
    return i + 1


# -- grammar ------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over ``or := and ("or" and)*``, ``and := unary (["and"] unary)*``,
    ``unary := "-" unary | "(" or ")" | term``."""

    def __init__(self, query: str, tokens: list[_Token]) -> None:
        self.query = query
        self.tokens = tokens
        self.at = 0
        self.open: list[int] = []  # positions of the unclosed "(" and "-" around the cursor

    def error(self, message: str, position: int) -> QueryError:
        return QueryError(message, self.query, position)

    @property
    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def starts_unary(self) -> bool:
        return self.peek.kind in ("term", "(", "-")

    def parse(self) -> Node:
        node = self.parse_or()
        if self.peek.kind == ")":
            raise self.error("this ')' has no matching '('", self.peek.position)
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek.kind == "or":
            operator = self.take()
            if not self.starts_unary():
                raise self.error("'or' must be followed by a term", operator.position)
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        if not self.starts_unary():
            self.refuse_start()
        children = [self.parse_unary()]
        while True:
            if self.peek.kind == "and":
                operator = self.take()
                if not self.starts_unary():
                    raise self.error("'and' must be followed by a term", operator.position)
            elif not self.starts_unary():
                break
            children.append(self.parse_unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def refuse_start(self) -> None:
        """Explain why the token at the cursor cannot begin a term."""
        token = self.peek
        if token.kind in ("or", "and"):
            raise self.error(f"'{token.kind}' must come between two terms", token.position)
        if token.kind == ")":
            if self.open and self.tokens[self.at - 1].kind == "(":
                raise self.error("empty parentheses", token.position)
            raise self.error("this ')' has no matching '('", token.position)
        raise self.error("this '(' is never closed", self.open[-1])  # "end" inside a group

    def parse_unary(self) -> Node:
        token = self.take()
        if token.kind == "term":
            return _term(self.query, token)
        if len(self.open) >= MAX_DEPTH:
            raise self.error(f"nested more than {MAX_DEPTH} levels deep", token.position)
        self.open.append(token.position)
        if token.kind == "-":
            if not self.starts_unary():
                raise self.error("'-' must be followed by a term or a group", token.position)
            node: Node = Not(self.parse_unary())
        else:
            node = self.parse_or()
            if self.peek.kind != ")":
                raise self.error("this '(' is never closed", token.position)
            self.take()
        self.open.pop()
        return node


# -- terms --------------------------------------------------------------------------------------


def _glob(chars: tuple[_Char, ...] | list[_Char]) -> str:
    return "".join("\\" + c if escaped and c in "*_\\" else c for c, _, escaped in chars)


def _text(chars: tuple[_Char, ...] | list[_Char]) -> str:
    return "".join(c for c, _, _ in chars)


def _term(query: str, token: _Token) -> Term:
    chars, start = token.chars, token.position
    colon = next((i for i, (c, _, e) in enumerate(chars) if c == ":" and not e), -1)
    if colon <= 0:
        return Term(TEXT, "", _glob(chars), position=start)
    key_chars, value = chars[:colon], chars[colon + 1 :]
    key = _text(key_chars).casefold()
    if key not in _KEYS or any(e for _, _, e in key_chars):
        return Term(FIELD, _glob(key_chars), _glob(value), position=start)
    reader = _Value(query, value, token.end)
    if key in PATTERN_KINDS:
        return Term(key, "", _glob(value), position=start)
    if key == IS:
        state = reader.text.casefold()
        if state not in STATES:
            raise reader.error(0, f"unknown state 'is:{reader.text}'; use one of {_list(STATES)}")
        return Term(IS, "", state, position=start)
    if key == FLAG:
        if not re.fullmatch("[0-7]", reader.text):
            raise reader.error(0, "a flag is a number from 0 to 7")
        return Term(FLAG, "", int(reader.text), position=start)
    if key == PROP:
        return _prop(reader, start)
    if key in (RATED, ADDED):
        days, sep, rating = reader.text.partition(":")
        n_days = reader.integer(0, days, minimum=1, what="a number of days (1 or more)")
        if key == ADDED:
            return Term(ADDED, "", n_days, position=start)
        if not sep:
            return Term(RATED, "", (n_days,), position=start)
        if not re.fullmatch("[1-4]", rating):
            raise reader.error(len(days) + 1, "a rating is a number from 1 to 4")
        return Term(RATED, "", (n_days, int(rating)), position=start)
    ids = tuple(reader.text.split(","))
    if not all(ids):
        offset = next(i for i, part in _offsets(ids) if not part)
        raise reader.error(offset, f"'{key}:' takes ids separated by commas")
    return Term(key, "", ids, position=start)


def _prop(reader: _Value, start: int) -> Term:
    text = reader.text
    name = re.match("[a-zA-Z]*", text).group()
    if name.casefold() not in PROPERTIES:
        what = f"unknown property '{name}'" if name else "missing property name"
        raise reader.error(0, f"{what}; use one of {_list(PROPERTIES)}")
    rest = text[len(name) :]
    op = next((op for op in OPERATORS if rest.startswith(op)), "")
    if not op:
        raise reader.error(len(name), f"expected one of {' '.join(OPERATORS)} after '{name}'")
    number, offset = rest[len(op) :], len(name) + len(op)
    if PROPERTIES[name.casefold()] is int:
        value: int | float = reader.integer(offset, number, what="a whole number")
    elif re.fullmatch(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)", number):
        value = float(number)
    else:
        raise reader.error(offset, f"'{number}' is not a number")
    return Term(PROP, name.casefold(), value, op, position=start)


class _Value:
    """The value part of a ``key:value`` term, able to point errors at its characters."""

    def __init__(self, query: str, chars: tuple[_Char, ...], end: int) -> None:
        self.query, self.chars, self.end = query, chars, end
        self.text = _text(chars)

    def error(self, offset: int, message: str) -> QueryError:
        position = self.chars[offset][1] if offset < len(self.chars) else self.end
        return QueryError(message, self.query, position)

    def integer(self, offset: int, text: str, *, what: str, minimum: int | None = None) -> int:
        if not re.fullmatch("-?[0-9]+", text) or abs(int(text)) > _MAX_INT:
            raise self.error(offset, f"expected {what}, not '{text}'")
        if minimum is not None and int(text) < minimum:
            raise self.error(offset, f"expected {what}, not '{text}'")
        return int(text)


def _offsets(parts: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    offset = 0
    for part in parts:
        yield offset, part
        offset += len(part) + 1


def _list(names) -> str:
    return ", ".join(sorted(names))

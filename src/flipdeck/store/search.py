"""Provides searching: a query (see ``core.query``) compiled to SQL over a collection.

:func:`compile_query` turns the tree into one boolean expression over the aliases ``c``
(cards) and ``n`` (notes), with every piece of user text a bound parameter. Names the query
refers to (decks, fields, note types, card types) are resolved against the collection while
compiling, so the expression itself stays a cheap ``IN`` list. Word searches read
``notes.search``, which the store keeps casefolded and stripped of HTML; field and tag matches
call two SQL functions registered on the connection the first time it is searched.
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache
from typing import TYPE_CHECKING

from flipdeck.core import query as q
from flipdeck.core.days import Calendar
from flipdeck.core.html import strip_html
from flipdeck.store.config import calendar

if TYPE_CHECKING:
    from flipdeck.store.collection import Collection

_FROM = "FROM cards c JOIN notes n ON n.id = c.note_id WHERE c.deleted = 0 AND n.deleted = 0"
_COMPARE = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "=": "=", "!=": "!="}
_COLUMNS = {
    "ivl": "c.interval",
    "reps": "c.reps",
    "lapses": "c.lapses",
    "s": "c.stability",
    "d": "c.difficulty",
}
_STATES = {
    "new": "c.state = 0",
    "learn": "c.state IN (1, 3)",
    "review": "c.state IN (2, 3)",
    "suspended": "c.suspended = 1",
}
_FIRST_DAY, _LAST_DAY = 2, 3_652_058  # keep Calendar.start() inside datetime's range


def compile_query(col: Collection, query: str, *, now: int) -> tuple[str, list]:
    """The SQL condition selecting the cards ``query`` matches at instant ``now`` (epoch ms).

    Raises :class:`~flipdeck.core.errors.QueryError` when the query does not parse.
    """
    tree = q.parse(query)
    if tree is None:
        return "1", []
    _register_functions(col.conn)
    return _Compiler(col, now).node(tree)


def find_cards(
    col: Collection, query: str, *, now: int, order: str = "n.created, c.template"
) -> list[str]:
    """Ids of the cards ``query`` matches, sorted by ``order`` (trusted SQL, never user text)."""
    where, params = compile_query(col, query, now=now)
    order_by = f" ORDER BY {order}" if order else ""
    sql = f"SELECT c.id {_FROM} AND ({where}){order_by}"
    return [row[0] for row in col.conn.execute(sql, params)]


def find_notes(col: Collection, query: str, *, now: int) -> list[str]:
    """Ids of the notes having a card ``query`` matches, oldest note first."""
    where, params = compile_query(col, query, now=now)
    sql = f"SELECT n.id {_FROM} AND ({where}) GROUP BY n.id ORDER BY n.created, n.id"
    return [row[0] for row in col.conn.execute(sql, params)]


# -- SQL functions --------------------------------------------------------------------------------


def _fold(value: object) -> str:
    """SQL ``flipdeck_fold``: a field's visible text, casefolded; a missing field is empty."""
    return "" if value is None else strip_html(str(value)).casefold()


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


def _match(pattern: str, value: object) -> int:
    """SQL ``flipdeck_match``: whether a regex matches somewhere in the casefolded text."""
    text = "" if value is None else str(value).casefold()
    return 1 if _compiled(pattern).search(text) else 0


def _register_functions(conn: sqlite3.Connection) -> None:
    """Register the search functions once per connection (registering again would fail while
    another statement is running, so probe first)."""
    try:
        conn.execute("SELECT flipdeck_fold(NULL), flipdeck_match('', NULL)").fetchone()
    except sqlite3.OperationalError:
        conn.create_function("flipdeck_fold", 1, _fold, deterministic=True)
        conn.create_function("flipdeck_match", 2, _match, deterministic=True)


# -- patterns -------------------------------------------------------------------------------------


def _like(glob: str) -> str:
    """A glob as a ``LIKE … ESCAPE '\\'`` pattern matching the whole text."""
    out = []
    for kind, text in q.glob_pieces(glob):
        if kind == "any":
            out.append("%")
        elif kind == "one":
            out.append("_")
        else:
            out.append(re.sub(r"([\\%_])", r"\\\1", text))
    return "".join(out)


def _regex(glob: str, *, many: str = ".*", one: str = ".") -> str:
    """A glob as regex source; ``many`` and ``one`` are what its wildcards become."""
    return "".join(
        many if kind == "any" else one if kind == "one" else re.escape(text)
        for kind, text in q.glob_pieces(glob)
    )


def _names(glob: str):
    """A predicate telling whether a name (deck, field, note type…) matches ``glob`` whole."""
    pattern = re.compile(_regex(glob.casefold()), re.DOTALL)
    return lambda name: pattern.fullmatch((name or "").casefold()) is not None


def _in(column: str, values, params: list) -> str:
    values = list(dict.fromkeys(values))
    if not values:
        return "0"
    params.extend(values)
    return f"{column} IN ({', '.join('?' * len(values))})"


# -- the compiler ---------------------------------------------------------------------------------


class _Compiler:
    """Walks one tree; holds the collection, the instant and the calendar it is compiled for."""

    def __init__(self, col: Collection, now: int) -> None:
        self.conn = col.conn
        self.now = now
        self.calendar: Calendar = calendar(col)
        self.today = self.calendar.day(now)

    def node(self, node: q.Node) -> tuple[str, list]:
        if isinstance(node, q.Term):
            params: list = []
            return getattr(self, f"term_{node.kind}")(node, params), params
        if isinstance(node, q.Not):
            sql, params = self.node(node.node)
            return f"NOT coalesce(({sql}), 0)", params
        joiner = " AND " if isinstance(node, q.And) else " OR "
        parts, params = [], []
        for child in node.children:
            sql, child_params = self.node(child)
            parts.append(f"({sql})")
            params.extend(child_params)
        return joiner.join(parts), params

    def start(self, day: int) -> int:
        """When learning day ``day`` begins, for days far beyond any real date too."""
        return self.calendar.start(min(max(day, _FIRST_DAY), _LAST_DAY))

    def first_instant(self, day: int) -> int:
        """The first instant :meth:`Calendar.day` counts in ``day``, for event timestamps.

        The calendar gives the cutoff's own second to the day that ends there, so an answer
        stamped then is yesterday's; due dates, which are day starts, use :meth:`start`.
        """
        at = self.start(day)
        if self.calendar.day(at) < day:
            at = (at // 1000 + 1) * 1000
        return at

    # -- text ---------------------------------------------------------------------------------

    def term_text(self, term: q.Term, params: list) -> str:
        glob = term.value.casefold()
        if not q.has_wildcards(glob):
            params.append(q.literal(glob))
            return "instr(n.search, ?) > 0"
        params.append(f"%{_like(glob)}%")
        return "n.search LIKE ? ESCAPE '\\'"

    def term_field(self, term: q.Term, params: list) -> str:
        wanted = _names(term.key)
        rows = self.conn.execute("SELECT id, notetype_id, name FROM nt_fields WHERE deleted = 0")
        fields = [(fid, ntid) for fid, ntid, name in rows if wanted(name)]
        if not fields:
            return "0"
        glob = term.value.casefold()
        if q.has_wildcards(glob):
            compare, value = "LIKE ? ESCAPE '\\'", _like(glob)
        else:
            compare, value = "= ?", q.literal(glob)
        parts = []
        for fid, ntid in fields:
            parts.append(
                f"(n.notetype_id = ? AND flipdeck_fold(json_extract(n.fields, ?)) {compare})"
            )
            params.extend([ntid, f'$."{fid}"', value])
        return " OR ".join(parts)

    # -- names --------------------------------------------------------------------------------

    def term_deck(self, term: q.Term, params: list) -> str:
        wanted = _names(term.value)
        decks = list(self.conn.execute("SELECT id, name FROM decks WHERE deleted = 0"))
        roots = [name.casefold() for _, name in decks if wanted(name)]
        ids = [
            deck_id
            for deck_id, name in decks
            if any(name.casefold() == r or name.casefold().startswith(r + "::") for r in roots)
        ]
        return _in("c.deck_id", ids, params)

    def term_tag(self, term: q.Term, params: list) -> str:
        if term.value.casefold() in ("", "none"):
            return "trim(coalesce(n.tags, '')) = ''"
        tag = _regex(term.value.casefold(), many=r"\S*", one=r"\S")
        params.append(rf"(?:^|\s){tag}(?:::\S*)?(?=\s|$)")
        return "flipdeck_match(?, n.tags)"

    def term_note(self, term: q.Term, params: list) -> str:
        wanted = _names(term.value)
        rows = self.conn.execute("SELECT id, name FROM notetypes WHERE deleted = 0")
        return _in("n.notetype_id", [ntid for ntid, name in rows if wanted(name)], params)

    def term_card(self, term: q.Term, params: list) -> str:
        wanted = _names(term.value)
        rows = self.conn.execute(
            "SELECT t.id, t.notetype_id, t.name, coalesce(nt.kind, 'standard') FROM nt_templates t"
            " LEFT JOIN notetypes nt ON nt.id = t.notetype_id WHERE t.deleted = 0"
        )
        templates, clozes = [], []  # a cloze note type's one template stands for all its cards
        for tid, ntid, name, kind in rows:
            if wanted(name) and kind == "cloze":
                clozes.append(ntid)
            elif wanted(name):
                templates.append(tid)
        number = q.literal(term.value)
        if number.isascii() and number.isdigit() and not q.has_wildcards(term.value):
            templates.append(f"c{int(number)}")
        by_template = _in("c.template", templates, params)
        if not clozes:
            return by_template
        return f"{by_template} OR {_in('n.notetype_id', clozes, params)}"

    def term_nid(self, term: q.Term, params: list) -> str:
        return _in("n.id", term.value, params)

    def term_cid(self, term: q.Term, params: list) -> str:
        return _in("c.id", term.value, params)

    # -- card state ---------------------------------------------------------------------------

    def term_is(self, term: q.Term, params: list) -> str:
        if term.value == "due":
            params.extend([self.start(self.today + 1), self.now])
            return "(c.state = 2 AND c.due < ?) OR (c.state IN (1, 3) AND c.due <= ?)"
        if term.value == "buried":
            params.append(self.now)
            return "c.buried_until > ?"
        return _STATES[term.value]

    def term_flag(self, term: q.Term, params: list) -> str:
        params.append(term.value)
        return "c.flag = ?"

    def term_prop(self, term: q.Term, params: list) -> str:
        op = _COMPARE[term.op]
        if term.key != "due":
            params.append(term.value)
            return f"{_COLUMNS[term.key]} {op} ?"
        day = self.today + int(term.value)
        begin, end = self.start(day), self.start(day + 1)
        ranges = {
            "<": ("c.due < ?", [begin]),
            "<=": ("c.due < ?", [end]),
            ">": ("c.due >= ?", [end]),
            ">=": ("c.due >= ?", [begin]),
            "=": ("c.due >= ? AND c.due < ?", [begin, end]),
            "!=": ("NOT (c.due >= ? AND c.due < ?)", [begin, end]),
        }
        sql, values = ranges[op]
        params.extend(values)
        return f"c.state = 2 AND {sql}"

    # -- history ------------------------------------------------------------------------------

    def term_rated(self, term: q.Term, params: list) -> str:
        days, *rating = term.value
        params.append(self.first_instant(self.today - days + 1))
        sql = "SELECT card_id FROM reviews WHERE rating > 0 AND reviewed_at >= ?"
        if rating:
            params.append(rating[0])
            sql += " AND rating = ?"
        return f"c.id IN ({sql})"

    def term_added(self, term: q.Term, params: list) -> str:
        params.append(self.first_instant(self.today - term.value + 1))
        return "n.created >= ?"

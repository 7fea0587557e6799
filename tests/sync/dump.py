"""Provides the canonical dump of a collection: what two converged devices must hold alike.

For every syncable table (``store.entities``) the dump has each row's id, its synced columns,
its ``deleted`` flag and its per-field ``clock`` map; for cards also the derived scheduling
columns (they are a fold of the same events with the same presets, so they must agree too); for
notes the derived ``search`` text; the review log and its graves whole. JSON columns are parsed
and re-encoded with sorted keys, so two maps that are equal but were built in a different order
compare equal. Rows are sorted by id. Local-only tables (``meta``, ``changes``,
``foreign_changes``) are left out; :func:`foreign` reads the kept unknown changes separately.
"""

from __future__ import annotations

import json

from flipdeck.store.entities import ENTITIES
from flipdeck.store.reviews import STATE_COLUMNS

DERIVED = {
    "cards": ("queue", *(name.strip() for name in STATE_COLUMNS.split(","))),
    "notes": ("search",),
}
EXTRA_TABLES = {
    "reviews": ("card_id", "rating", "reviewed_at", "duration_ms", "kind", "data"),
    "review_graves": (),
}


def _canonical_json(value):
    return None if value is None else json.dumps(json.loads(value), sort_keys=True)


def _tables() -> dict[str, tuple[tuple[str, ...], set[str]]]:
    """Each table's dumped columns (after ``id``) and which of them hold JSON."""
    tables: dict[str, tuple[tuple[str, ...], set[str]]] = {}
    for spec in ENTITIES.values():
        columns = [c for c in spec.columns if c != "deleted"]
        json_columns = {*spec.json_columns, "clock"}
        if spec.map_column:
            columns.append(spec.map_column)
            json_columns.add(spec.map_column)
        if "deleted" in spec.columns:
            columns.append("deleted")
        columns += ["clock", *DERIVED.get(spec.table, ())]
        tables[spec.table] = (tuple(dict.fromkeys(columns)), json_columns)
    for table, columns in EXTRA_TABLES.items():
        tables[table] = (columns, set())
    return tables


def dump(col) -> dict[str, list[tuple]]:
    """The canonical dump: table name → sorted rows (``id`` first, then the columns)."""
    out: dict[str, list[tuple]] = {}
    for table, (columns, json_columns) in _tables().items():
        names = ["id", *columns]
        rows = col.conn.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY id").fetchall()
        out[table] = [
            tuple(
                _canonical_json(value) if name in json_columns else value
                for name, value in zip(names, row, strict=True)
            )
            for row in rows
        ]
    return out


def columns(table: str) -> tuple[str, ...]:
    """The names of a dumped table's columns, ``id`` first."""
    return ("id", *_tables()[table][0])


def diff(first: dict, second: dict, *, limit: int = 12) -> list[str]:
    """Readable differences between two dumps (at most ``limit`` lines)."""
    lines: list[str] = []
    for table in first:
        names = columns(table)
        a = {row[0]: row for row in first[table]}
        b = {row[0]: row for row in second[table]}
        for row_id in sorted(a.keys() | b.keys()):
            left, right = a.get(row_id), b.get(row_id)
            if left == right:
                continue
            if left is None or right is None:
                present = left or right
                side = "first" if left else "second"
                lines.append(f"{table} {row_id}: only in the {side}: {present}")
            else:
                changed = {
                    name: (x, y) for name, x, y in zip(names, left, right, strict=True) if x != y
                }
                lines.append(f"{table} {row_id}: {changed}")
            if len(lines) >= limit:
                return [*lines, "…"]
    return lines


def foreign(col) -> list[tuple]:
    """The unknown changes a collection keeps for a newer version, without the local
    receive time."""
    return col.conn.execute(
        "SELECT id, entity, row_id, hlc, data FROM foreign_changes ORDER BY id"
    ).fetchall()

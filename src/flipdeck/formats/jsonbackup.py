"""Provides the JSON backup: every syncable row with its per-field clock, the review log, its
graves and the media, so a restore gives back exactly the collection that was saved.

Restoring is merging: each value is written with the stamp it had, through
:meth:`Collection.write`, so the usual rule (the greater stamp wins) decides. Into an empty
collection that reproduces the backup; into the collection it came from it changes nothing; into
another it behaves like a sync with the device that made it. Derived card state is not stored:
it is re-folded from the restored log, as everywhere else.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable

from flipdeck.core.html import media_references
from flipdeck.formats.summary import ImportFailed, ImportSummary, Progress, no_progress
from flipdeck.store.entities import ENTITIES

MARKER = "flipdeck-backup"
VERSION = 1
ORDER = ("config", "preset", "deck", "notetype", "ntfield", "nttemplate", "note", "card")
_REVIEW_COLUMNS = ("id", "card_id", "rating", "reviewed_at", "duration_ms", "kind", "data")


def _rows(col, entity: str, ids: set[str] | None) -> Iterable[dict]:
    spec = ENTITIES[entity]
    columns = list(spec.columns) + ([spec.map_column] if spec.map_column else [])
    sql = f"SELECT id, clock, {', '.join(columns)} FROM {spec.table} ORDER BY id"
    for row_id, clock, *values in col.conn.execute(sql):
        if ids is not None and row_id not in ids:
            continue
        data: dict = {}
        for name, value in zip(columns, values, strict=True):
            if name == spec.map_column:
                for key, item in json.loads(value or "{}").items():
                    data[f"{name}.{key}"] = item
            elif name in spec.json_columns:
                data[name] = None if value is None else json.loads(value)
            else:
                data[name] = value
        stamps = json.loads(clock or "{}")
        data = {k: v for k, v in data.items() if k in stamps}
        yield {"entity": entity, "id": row_id, "values": data, "clock": stamps}


def dump(col, card_ids: list[str] | None = None) -> dict:
    """The backup as a JSON-ready dict: everything, or the notes of ``card_ids`` with every
    note type, deck, preset and setting (small, and needed to read them)."""
    cards = notes = reviews_of = None
    if card_ids is not None:
        cards = set(card_ids)
        marks = ",".join("?" * len(cards)) or "NULL"
        notes = {
            r[0]
            for r in col.conn.execute(
                f"SELECT DISTINCT note_id FROM cards WHERE id IN ({marks})", list(cards)
            )
        }
        # a note's other cards come too, so its history stays whole
        cards |= {
            r[0]
            for r in col.conn.execute(
                f"SELECT id FROM cards WHERE note_id IN ({','.join('?' * len(notes)) or 'NULL'})",
                list(notes),
            )
        }
        reviews_of = cards
    rows = []
    for entity in ORDER:
        ids = notes if entity == "note" else cards if entity == "card" else None
        rows.extend(_rows(col, entity, ids))
    reviews = [
        dict(zip(_REVIEW_COLUMNS, r, strict=True))
        for r in col.conn.execute(
            f"SELECT {', '.join(_REVIEW_COLUMNS)} FROM reviews ORDER BY card_id, reviewed_at, id"
        )
        if reviews_of is None or r[1] in reviews_of
    ]
    graves = [r[0] for r in col.conn.execute("SELECT id FROM review_graves ORDER BY id")]
    wanted = None
    if notes is not None:
        wanted = set()
        for row in rows:
            if row["entity"] == "note":
                for key, value in row["values"].items():
                    if key.startswith("fields.") and isinstance(value, str):
                        wanted.update(media_references(value))
    media = [
        {
            "sha256": sha,
            "name": name,
            "size": size,
            "data": base64.b64encode(data or b"").decode("ascii"),
            "added": added,
            "deleted": deleted,
            "clock": clock,
        }
        for sha, name, size, data, added, deleted, clock in col.conn.execute(
            "SELECT sha256, name, size, data, added, deleted, clock FROM media ORDER BY sha256"
        )
        if wanted is None or name in wanted
    ]
    return {
        "format": MARKER,
        "version": VERSION,
        "rows": rows,
        "reviews": reviews,
        "review_graves": graves if notes is None else [],
        "media": media,
    }


def dump_text(col, card_ids: list[str] | None = None) -> tuple[str, int]:
    """The backup as JSON text (one row per line, so it diffs well) and its note count."""
    data = dump(col, card_ids)
    count = sum(1 for r in data["rows"] if r["entity"] == "note" and not r["values"].get("deleted"))
    head = {k: v for k, v in data.items() if k not in ("rows", "reviews", "media")}
    lines = ["{" + json.dumps(head, ensure_ascii=False)[1:-1] + ","]
    for key in ("rows", "reviews", "media"):
        items = data[key]
        lines.append(f'"{key}": [')
        lines.extend(
            json.dumps(item, ensure_ascii=False, sort_keys=True)
            + ("," if i < len(items) - 1 else "")
            for i, item in enumerate(items)
        )
        lines.append("]," if key != "media" else "]")
    lines.append("}")
    return "\n".join(lines) + "\n", count


def _check(data) -> None:
    if not isinstance(data, dict) or data.get("format") != MARKER:
        raise ImportFailed(
            'this JSON file is not a flipdeck backup (no "format": "flipdeck-backup")'
        )
    if data.get("version") != VERSION:
        raise ImportFailed(
            f"backup version {data.get('version')!r} is not one this flipdeck reads ({VERSION})"
        )


def restore_text(col, text: str, progress: Progress = no_progress) -> ImportSummary:
    """Restore a backup inside the caller's transaction (see the module docstring)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFailed(
            f"not valid JSON: {error.msg}", where=f"line {error.lineno}, column {error.colno}"
        ) from None
    _check(data)
    return restore(col, data, progress)


def restore(col, data: dict, progress: Progress = no_progress) -> ImportSummary:
    """Merge a backup dict into the collection (the caller holds the transaction)."""
    from flipdeck.store import notes as notes_store
    from flipdeck.store import reviews as reviews_store

    summary = ImportSummary(format="json")
    rows = data.get("rows", [])
    total = len(rows) + len(data.get("reviews", []))
    notetypes_touched: set[str] = set()
    cards_touched: set[str] = set()
    for done, row in enumerate(rows, start=1):
        try:
            entity, row_id, values, clock = row["entity"], row["id"], row["values"], row["clock"]
            spec = ENTITIES[entity]
        except (KeyError, TypeError):
            raise ImportFailed(
                f"row {done} of the backup is not a row", where=f"rows[{done - 1}]"
            ) from None
        if not spec.keys_valid(values):
            raise ImportFailed(f"unknown {entity} fields in the backup", where=f"rows[{done - 1}]")
        before = col.conn.execute(
            f"SELECT *, clock FROM {spec.table} WHERE id = ?", (row_id,)
        ).fetchone()
        existing = before
        local = json.loads(before[-1] or "{}") if before is not None else {}
        by_stamp: dict[str, dict] = {}
        for key, value in values.items():
            stamp = clock.get(key)
            if not stamp or (before is not None and local.get(key, "") >= stamp):
                continue  # the local value is as new or newer: the merge rule keeps it
            by_stamp.setdefault(stamp, {})[key] = value
        for stamp in sorted(by_stamp):
            col.clock.observe(stamp)
            col.write(entity, row_id, by_stamp[stamp], stamp=stamp)
        after = col.conn.execute(
            f"SELECT *, clock FROM {spec.table} WHERE id = ?", (row_id,)
        ).fetchone()
        changed = after != before
        if entity == "note":
            if existing is None:
                summary.added += 1
            elif changed:
                summary.updated += 1
            else:
                summary.skipped += 1
            notetypes_touched.add(after[1])  # notes.notetype_id
        elif entity == "card":
            if existing is None:
                summary.cards += 1
            if changed or existing is None:
                cards_touched.add(row_id)
        elif entity == "deck" and existing is None:
            summary.decks += 1
        elif entity == "notetype" and existing is None:
            summary.notetypes += 1
        if entity in ("notetype", "ntfield", "nttemplate"):
            notetypes_touched.add(values.get("notetype_id", row_id))
        if done % 1000 == 0:
            progress(done, total)
    col.invalidate()  # note types and presets were written underneath their caches
    for notetype_id in notetypes_touched:
        notes_store.reindex(col, notetype_id)
    graves = set(data.get("review_graves", []))
    for grave in graves:
        if not col.conn.execute("SELECT 1 FROM review_graves WHERE id = ?", (grave,)).fetchone():
            col.bury_review(grave)
    for review in data.get("reviews", []):
        event_id = review["id"]
        if (
            event_id in graves
            or col.conn.execute(
                "SELECT 1 FROM reviews WHERE id = ?"
                " UNION ALL SELECT 1 FROM review_graves WHERE id = ?",
                (event_id, event_id),
            ).fetchone()
        ):
            continue
        col.append_review(
            event_id,
            review["card_id"],
            review["rating"],
            review["reviewed_at"],
            review["duration_ms"],
            review["kind"],
            review.get("data"),
        )
        summary.reviews += 1
        cards_touched.add(review["card_id"])
    for item in data.get("media", []):
        if col.conn.execute("SELECT 1 FROM media WHERE sha256 = ?", (item["sha256"],)).fetchone():
            continue
        col.conn.execute(
            "INSERT INTO media(sha256, name, size, data, added, deleted, clock)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                item["sha256"],
                item["name"],
                item["size"],
                base64.b64decode(item["data"]),
                item["added"],
                item["deleted"],
                item["clock"],
            ),
        )
        summary.media += 1
    # derived state: a new card sorts by its note's creation, as notes.add leaves it; the rest
    # is the fold of the restored log
    touched = sorted(cards_touched)
    col.conn.executemany(
        "UPDATE cards SET due = (SELECT created FROM notes WHERE notes.id = cards.note_id)"
        " WHERE id = ? AND due IS NULL",
        [(cid,) for cid in touched],
    )
    dead = [
        cid
        for cid in touched
        if col.conn.execute("SELECT deleted FROM cards WHERE id = ?", (cid,)).fetchone()[0]
    ]
    reviews_store.clear_state(col, dead)
    col.invalidate()
    reviews_store.refold(col, [cid for cid in touched if cid not in set(dead)])
    progress(total, total)
    return summary

"""Provides writing an Anki package (``.apkg``) from the collection.

The package is the "legacy 1" layout genanki also writes (``collection.anki2`` in schema 11, a
JSON media map, media as zip members ``0``, ``1``, …): every Anki since 2.1 imports it, Anki
26.x included (``anki-formats.md`` §1), and it needs no protobuf or zstd. Cards carry their
scheduling (type, queue, due, interval, FSRS memory state in ``cards.data``) and, with history,
the review log is written as ``revlog`` rows, so Anki replays the same memory state; flipdeck's
importer reads the file back into the same notes, cards and review events.

The file is written to a temporary name next to the target and moved into place with
``os.replace``, so a failed export never leaves a half-written package behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from flipdeck.core.html import media_references, strip_html
from flipdeck.core.notetypes import NoteType
from flipdeck.core.scheduling import LEARNING, NEW, RELEARNING, REVIEW
from flipdeck.formats.summary import Progress, no_progress
from flipdeck.store import config, notetypes, presets

SCHEMA_11 = """
CREATE TABLE col (id integer primary key, crt integer not null, mod integer not null,
  scm integer not null, ver integer not null, dty integer not null, usn integer not null,
  ls integer not null, conf text not null, models text not null, decks text not null,
  dconf text not null, tags text not null);
CREATE TABLE notes (id integer primary key, guid text not null, mid integer not null,
  mod integer not null, usn integer not null, tags text not null, flds text not null,
  sfld integer not null, csum integer not null, flags integer not null, data text not null);
CREATE TABLE cards (id integer primary key, nid integer not null, did integer not null,
  ord integer not null, mod integer not null, usn integer not null, type integer not null,
  queue integer not null, due integer not null, ivl integer not null, factor integer not null,
  reps integer not null, lapses integer not null, left integer not null, odue integer not null,
  odid integer not null, flags integer not null, data text not null);
CREATE TABLE revlog (id integer primary key, cid integer not null, usn integer not null,
  ease integer not null, ivl integer not null, lastIvl integer not null, factor integer not null,
  time integer not null, type integer not null);
CREATE TABLE graves (usn integer not null, oid integer not null, type integer not null);
CREATE INDEX ix_notes_usn on notes (usn);
CREATE INDEX ix_cards_usn on cards (usn);
CREATE INDEX ix_revlog_usn on revlog (usn);
CREATE INDEX ix_cards_nid on cards (nid);
CREATE INDEX ix_cards_sched on cards (did, queue, due);
CREATE INDEX ix_revlog_cid on revlog (cid);
CREATE INDEX ix_notes_csum on notes (csum);
"""

_REVLOG_TYPE = {"learn": 0, "review": 1, "relearn": 2}
_DECAY = 0.1542


def _int_id(uuid_text: str) -> int:
    """A stable positive 48-bit integer for a flipdeck id (Anki ids are integers)."""
    return int(hashlib.sha256(uuid_text.encode()).hexdigest()[:12], 16) + 1


def _unique(start: int, used: set[int]) -> int:
    """``start``, or the next integer not yet used (Anki bumps colliding ids the same way)."""
    value = start
    while value in used:
        value += 1
    used.add(value)
    return value


def _csum(text: str) -> int:
    return int(hashlib.sha1(strip_html(text).encode("utf-8")).hexdigest()[:8], 16)


def export_package(
    col,
    path: Path,
    card_ids: list[str] | None,
    *,
    include_history: bool = True,
    progress: Progress = no_progress,
) -> int:
    """Write the cards ``card_ids`` (``None``: every live card) with their notes, decks, note
    types, media and (``include_history``) review log to ``path``; returns the cards written."""
    path = Path(path)
    conn = col.conn
    where = "c.deleted = 0 AND n.deleted = 0"
    rows = conn.execute(
        "SELECT c.id, c.note_id, c.template, c.ord, c.deck_id, c.flag, c.suspended,"
        " c.buried_until, c.state, c.stability, c.difficulty, c.due, c.interval, c.reps,"
        " c.lapses, c.last_day, c.last_review FROM cards c JOIN notes n ON n.id = c.note_id"
        f" WHERE {where} ORDER BY n.created, n.id, c.ord"
    ).fetchall()
    if card_ids is not None:
        wanted = set(card_ids)
        rows = [r for r in rows if r[0] in wanted]
    calendar = config.calendar(col)
    now = col.now()
    today = calendar.day(now)
    days = [r[15] for r in rows if r[15] is not None]
    crt_day = min([today, *days])
    crt = calendar.start(crt_day) // 1000

    note_ids = list(dict.fromkeys(r[1] for r in rows))
    notes = {}
    for start in range(0, len(note_ids), 500):
        chunk = note_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for note_id, nt_id, guid, fields, tags, created in conn.execute(
            f"SELECT id, notetype_id, guid, fields, tags, created FROM notes WHERE id IN ({marks})",
            chunk,
        ):
            notes[note_id] = (nt_id, guid, json.loads(fields or "{}"), tags, created)

    deck_rows = dict(
        (r[0], (r[1], r[2]))
        for r in conn.execute("SELECT id, name, preset_id FROM decks WHERE deleted = 0")
    )
    used_decks = {r[4] for r in rows}
    deck_ids = _deck_ids(deck_rows, used_decks)
    used_types = {notes[n][0] for n in note_ids}
    types = {nt_id: notetypes.load(col, nt_id) for nt_id in used_types}

    tmp_dir = Path(tempfile.mkdtemp(prefix="flipdeck-export-"))
    db_path = tmp_dir / "collection.anki2"
    out = sqlite3.connect(db_path)
    try:
        out.executescript(SCHEMA_11)
        models = {str(_int_id(nt.id)): _model_json(nt, now) for nt in types.values()}
        decks_json, dconf_json = _decks_json(col, deck_rows, deck_ids, now)
        conf = {
            "activeDecks": [1],
            "curDeck": 1,
            "newSpread": 0,
            "collapseTime": 1200,
            "timeLim": 0,
            "estTimes": True,
            "dueCounts": True,
            "curModel": None,
            "nextPos": len(note_ids) + 1,
            "sortType": "noteFld",
            "sortBackwards": False,
            "addToCur": True,
            # without these Anki takes the file for the v1 scheduler and shifts learning
            # answers up a button (Good becomes Easy), which would change every memory state
            "schedVer": 2,
            "sched2021": True,
            "creationOffset": 0,
            "dayLearnFirst": False,
        }
        out.execute(
            "INSERT INTO col VALUES (1, ?, ?, ?, 11, 0, 0, 0, ?, ?, ?, ?, '{}')",
            (
                crt,
                now,
                now,
                json.dumps(conf),
                json.dumps(models),
                json.dumps(decks_json),
                json.dumps(dconf_json),
            ),
        )
        used_ids: set[int] = set()
        anki_note = {}
        note_rows = []
        media_names: dict[str, None] = {}
        for note_id in note_ids:
            nt_id, guid, fields, tags, created = notes[note_id]
            nt = types[nt_id]
            values = [fields.get(f.id, "") for f in nt.fields]
            for value in values:
                for name in media_references(value):
                    media_names.setdefault(name)
            aid = _unique(int(created), used_ids)
            anki_note[note_id] = aid
            sort_index = _sort_index(nt)
            sort_text = strip_html(values[sort_index]) if values else ""
            note_rows.append(
                (
                    aid,
                    guid,
                    _int_id(nt.id),
                    now // 1000,
                    -1,
                    tags if tags.strip() else "",
                    "\x1f".join(values),
                    sort_text,
                    _csum(values[0]) if values else 0,
                    0,
                    "",
                )
            )
        out.executemany("INSERT INTO notes VALUES (?,?,?,?,?,?,?,?,?,?,?)", note_rows)
        card_rows, anki_card = _card_rows(col, rows, anki_note, deck_ids, calendar, crt_day, now)
        out.executemany("INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", card_rows)
        if include_history:
            out.executemany(
                "INSERT INTO revlog VALUES (?,?,?,?,?,?,?,?,?)",
                _revlog_rows(col, anki_card, calendar),
            )
        out.commit()
        progress(len(rows), len(rows))
    finally:
        out.close()
    try:
        _write_zip(col, path, db_path, list(media_names))
    finally:
        db_path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            tmp_dir.rmdir()
    return len(card_rows)


def _sort_index(nt: NoteType) -> int:
    sort_id = nt.sort_field_id
    for index, f in enumerate(nt.fields):
        if f.id == sort_id:
            return index
    return 0


def _deck_ids(deck_rows: dict, used: Iterable[str]) -> dict[str, int]:
    """Anki ids for the decks the cards use and their parents (``Default`` is always 1)."""
    by_name = {name.casefold(): deck_id for deck_id, (name, _p) in deck_rows.items()}
    wanted: set[str] = set()
    for deck_id in used:
        if deck_id not in deck_rows:
            continue
        parts = deck_rows[deck_id][0].split("::")
        for depth in range(1, len(parts) + 1):
            parent = by_name.get("::".join(parts[:depth]).casefold())
            if parent is not None:
                wanted.add(parent)
    out = {}
    for deck_id in wanted:
        name = deck_rows[deck_id][0]
        out[deck_id] = 1 if name.casefold() == "default" else _int_id(deck_id)
    return out


def _decks_json(col, deck_rows: dict, deck_ids: dict[str, int], now: int) -> tuple[dict, dict]:
    """Schema-11 ``col.decks`` and ``col.dconf``: one Anki preset per flipdeck preset used."""
    dconf: dict[str, dict] = {}
    conf_ids: dict[str, int] = {}
    decks_json: dict[str, dict] = {}
    entries = list(deck_ids.items())
    if 1 not in deck_ids.values():
        entries.append((None, 1))
    for deck_id, anki_id in entries:
        name, preset_id = deck_rows[deck_id] if deck_id else ("Default", None)
        preset = presets.load(col, preset_id) if preset_id else presets.load(col, "")
        if preset.id not in conf_ids:
            conf_id = 1 if not conf_ids else _int_id(preset.id)
            conf_ids[preset.id] = conf_id
            dconf[str(conf_id)] = _dconf_json(preset, conf_id)
        decks_json[str(anki_id)] = {
            "id": anki_id,
            "name": name,
            "conf": conf_ids[preset.id],
            "desc": "",
            "dyn": 0,
            "collapsed": False,
            "browserCollapsed": False,
            "extendNew": 0,
            "extendRev": 0,
            "newToday": [0, 0],
            "revToday": [0, 0],
            "lrnToday": [0, 0],
            "timeToday": [0, 0],
            "mod": now // 1000,
            "usn": -1,
        }
    return decks_json, dconf


def _dconf_json(preset, conf_id: int) -> dict:
    return {
        "id": conf_id,
        "name": preset.name,
        "mod": 0,
        "usn": -1,
        "maxTaken": 60,
        "autoplay": True,
        "timer": 0,
        "replayq": True,
        "dyn": False,
        "new": {
            "delays": list(preset.learning_steps),
            "ints": [1, 4, 0],
            "initialFactor": 2500,
            "order": 1,
            "perDay": preset.new_per_day,
            "bury": False,
        },
        "rev": {
            "perDay": preset.reviews_per_day,
            "ease4": 1.3,
            "ivlFct": 1,
            "maxIvl": preset.maximum_interval,
            "bury": False,
            "hardFactor": 1.2,
        },
        "lapse": {
            "delays": list(preset.relearning_steps),
            "mult": 0,
            "minInt": 1,
            "leechFails": preset.leech_threshold,
            "leechAction": 0 if preset.leech_action == "suspend" else 1,
        },
        "desiredRetention": preset.desired_retention,
        "fsrsParams6": list(preset.parameters or ()),
    }


def _model_json(nt: NoteType, now: int) -> dict:
    return {
        "id": _int_id(nt.id),
        "name": nt.name,
        "type": 1 if nt.is_cloze else 0,
        "mod": now // 1000,
        "usn": -1,
        "sortf": _sort_index(nt),
        "did": None,
        "tmpls": [
            {
                "name": t.name,
                "ord": i,
                "qfmt": t.front,
                "afmt": t.back,
                "bqfmt": "",
                "bafmt": "",
                "did": None,
                "bfont": "",
                "bsize": 0,
            }
            for i, t in enumerate(nt.templates)
        ],
        "flds": [
            {
                "name": f.name,
                "ord": i,
                "sticky": False,
                "rtl": False,
                "font": "Arial",
                "size": 20,
                "media": [],
            }
            for i, f in enumerate(nt.fields)
        ],
        "css": nt.css or ".card { font-family: arial; font-size: 20px; text-align: center; }",
        "latexPre": "",
        "latexPost": "",
        "latexsvg": False,
        "req": [],
        "tags": [],
        "vers": [],
    }


def _card_rows(col, rows, anki_note, deck_ids, calendar, crt_day, now):
    """Schema-11 card rows with the scheduling flipdeck derived, and ``{card id: Anki id}``."""
    used: set[int] = set()
    anki_card: dict[str, int] = {}
    out = []
    position = 0
    retention = {}
    for (
        card_id,
        note_id,
        _template,
        ord_,
        deck_id,
        flag,
        suspended,
        buried_until,
        state,
        stability,
        difficulty,
        due,
        interval,
        reps,
        lapses,
        _last_day,
        last_review,
    ) in rows:
        aid = _unique(anki_note[note_id], used)
        anki_card[card_id] = aid
        if state == REVIEW:
            kind, queue = 2, 2
            anki_due = calendar.day(int(due) + 1000) - crt_day
            ivl = max(int(interval or 0), 1)
        elif state in (LEARNING, RELEARNING):
            kind, queue = (1 if state == LEARNING else 3), 1
            anki_due = int(due or now) // 1000
            ivl = 0 if state == LEARNING else max(int(interval or 0), 1)
            if due and calendar.day(int(due)) > calendar.day(now):
                # a step that ends on a later day: Anki's interday learning queue, by day
                queue, anki_due = 3, calendar.day(int(due)) - crt_day
        else:
            kind, queue = 0, 0
            position += 1
            anki_due = position
            ivl = 0
        if suspended:
            queue = -1
        elif buried_until and buried_until > now:
            queue = -3
        data = ""
        if stability is not None and state != NEW:
            if deck_id not in retention:
                row = col.conn.execute(
                    "SELECT preset_id FROM decks WHERE id = ?", (deck_id,)
                ).fetchone()
                retention[deck_id] = presets.load(col, row[0] if row else "").desired_retention
            data = json.dumps(
                {
                    "s": round(stability, 4),
                    "d": round(difficulty, 3),
                    "dr": retention[deck_id],
                    "decay": _DECAY,
                    "lrt": int(last_review) // 1000 if last_review else None,
                },
                separators=(",", ":"),
            )
        out.append(
            (
                aid,
                anki_note[note_id],
                deck_ids.get(deck_id, 1),
                ord_,
                now // 1000,
                -1,
                kind,
                queue,
                anki_due,
                ivl,
                2500 if kind else 0,
                int(reps or 0),
                int(lapses or 0),
                0,
                0,
                0,
                int(flag or 0),
                data,
            )
        )
    return out, anki_card


def _revlog_rows(col, anki_card: dict[str, int], calendar) -> list[tuple]:
    """The review log as revlog rows: answers with their rating and kind, "forget" as a
    manual entry with factor 0 (Anki's reset), "set due" as a manual entry whose interval
    reaches the due day, and entries flipdeck kept from an Anki import as they were."""
    used: set[int] = set()
    out = []
    ids = list(anki_card)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for card_id, rating, at, duration, kind, data in col.conn.execute(
            "SELECT card_id, rating, reviewed_at, duration_ms, kind, data FROM reviews"
            f" WHERE card_id IN ({marks}) ORDER BY reviewed_at, id",
            chunk,
        ):
            rid = _unique(int(at), used)
            cid = anki_card[card_id]
            taken = min(int(duration or 0), 2**31 - 1)
            if rating:
                rtype = _REVLOG_TYPE.get(kind, 1)
                out.append((rid, cid, -1, rating, 0, 0, 0 if rtype == 0 else 2500, taken, rtype))
                continue
            action = {}
            with contextlib.suppress(ValueError, TypeError):
                action = json.loads(data or "{}")
            if not isinstance(action, dict):
                action = {}
            if action.get("action") == "forget":
                out.append((rid, cid, -1, 0, 0, 0, 0, 0, 4))
            elif action.get("action") == "set_due" and isinstance(action.get("day"), int):
                ivl = max(action["day"] - calendar.day(int(at)), 0)
                out.append((rid, cid, -1, 0, ivl, 0, 2500, 0, 4))
            elif action.get("action") == "anki":
                out.append(
                    (
                        rid,
                        cid,
                        -1,
                        int(action.get("ease", 0)),
                        0,
                        0,
                        0,
                        taken,
                        action.get("type", 4),
                    )
                )
    return out


def _write_zip(col, path: Path, db_path: Path, media_names: list[str]) -> None:
    from flipdeck.formats.apkg import media_dir

    folder = media_dir(col)
    found = []
    for name in media_names:
        row = col.conn.execute(
            "SELECT sha256 FROM media WHERE name = ? AND deleted = 0", (name,)
        ).fetchone()
        if row is not None and (folder / row[0]).is_file():
            found.append((name, folder / row[0]))
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(db_path, "collection.anki2")
            z.writestr("media", json.dumps({str(i): name for i, (name, _p) in enumerate(found)}))
            for i, (_name, file) in enumerate(found):
                z.write(file, str(i), compress_type=zipfile.ZIP_STORED)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise

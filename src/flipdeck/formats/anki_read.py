"""Provides reading an Anki collection file (schema 11 or 18) into plain records.

Schema 18 keeps note types, decks and presets in their own tables with protobuf configs; schema
11 keeps them as JSON in ``col``. Either way the result is an :class:`AnkiCollection`: note types
joined through ``notetypes`` (never ``fields`` alone: exported files keep orphan rows), decks
with ``::`` names, presets, settings, and the notes, cards and review log as tuples. A file that
is not SQLite, or whose rows do not parse, raises :class:`PackageError`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from flipdeck.formats import protobuf as pb
from flipdeck.formats.anki_package import PackageError

DUMMY_TEXT = "Please update to the latest Anki version"
NEWEST_SCHEMA = 18
MAX_NOTE_BYTES = 16 << 20
"""The most a note's fields and tags may hold together. Real notes with inline images stay far
below; a bigger one is a broken or hostile file, refused before anything is decoded."""


@dataclass(frozen=True)
class AnkiNotetype:
    """A note type: ``kind`` 0 standard, 1 cloze; templates are ``(name, front, back)``."""

    id: int
    name: str
    kind: int
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]
    css: str = ""
    sort_idx: int = 0


@dataclass(frozen=True)
class AnkiDeck:
    """A deck; ``name`` joins levels with ``::``."""

    id: int
    name: str
    filtered: bool
    conf_id: int = 1
    description: str = ""


@dataclass(frozen=True)
class AnkiPreset:
    """The options of a deck preset that flipdeck's presets hold (steps in minutes)."""

    id: int
    name: str
    learn_steps: tuple[float, ...]
    relearn_steps: tuple[float, ...]
    new_per_day: int
    reviews_per_day: int
    maximum_interval: int
    leech_threshold: int
    leech_suspend: bool
    desired_retention: float
    params: tuple[float, ...]


@dataclass
class AnkiCollection:
    """Everything the importer reads from a collection file."""

    schema: int
    crt: int
    config: dict
    notetypes: dict[int, AnkiNotetype]
    decks: dict[int, AnkiDeck]
    presets: dict[int, AnkiPreset]
    notes: list[tuple] = field(default_factory=list)  # id, guid, mid, mod, tags, flds
    # id, nid, did, ord, queue, flags, odid, type, due
    cards: list[tuple] = field(default_factory=list)
    revlog: list[tuple] = field(default_factory=list)  # id, cid, ease, ivl, factor, time, type


def _unicase(a: str, b: str) -> int:
    a, b = a.casefold(), b.casefold()
    return (a > b) - (a < b)


def read_collection(path: Path, label: str) -> AnkiCollection:
    """Read the collection at ``path`` (``label`` names the package in errors)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as error:
        raise _corrupt(label, error) from None
    conn.create_collation("unicase", _unicase)
    try:
        try:
            return _read(conn, label)
        except sqlite3.OperationalError as error:
            if "decode" not in str(error).lower():
                raise
        # text that is not UTF-8 (rare, from old add-ons): read it again, slowly, with the
        # broken bytes replaced, rather than refuse the whole package
        conn.text_factory = lambda b: b.decode("utf-8", errors="replace")
        return _read(conn, label)
    except sqlite3.Error as error:
        raise _corrupt(label, error) from None
    except (pb.ProtobufError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise PackageError(
            f"{label} holds a collection whose settings do not parse ({error})",
            hint="Open the deck in Anki, run Tools › Check Database, and export it again.",
        ) from None
    finally:
        conn.close()


def _corrupt(label: str, error: Exception) -> PackageError:
    return PackageError(
        f"the collection inside {label} is not a readable SQLite database ({error})",
        hint="The package is damaged; export it again from Anki. Nothing was imported.",
    )


def _read(conn: sqlite3.Connection, label: str) -> AnkiCollection:
    ver, crt, conf, models, decks, dconf = conn.execute(
        "SELECT ver, crt, conf, models, decks, dconf FROM col"
    ).fetchone()
    if ver > NEWEST_SCHEMA:
        raise PackageError(
            f"{label} was written by a newer Anki (collection schema {ver})",
            hint="Export it from Anki with 'Support older Anki versions' ticked.",
        )
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "notetypes" in tables:
        collection = AnkiCollection(
            ver, crt, _config18(conn), _notetypes18(conn), _decks18(conn), _presets18(conn)
        )
    else:
        collection = AnkiCollection(
            ver,
            crt,
            json.loads(conf or "{}"),
            _notetypes11(json.loads(models or "{}")),
            _decks11(json.loads(decks or "{}")),
            _presets11(json.loads(dconf or "{}")),
        )
    size = "length(CAST(flds AS BLOB)) + length(CAST(tags AS BLOB))"
    biggest = conn.execute(f"SELECT max({size}) FROM notes").fetchone()[0]
    if biggest and biggest > MAX_NOTE_BYTES:
        note_id = conn.execute(
            f"SELECT id FROM notes WHERE {size} = ? LIMIT 1", (biggest,)
        ).fetchone()[0]
        raise PackageError(
            f"{label} has a note (Anki id {note_id}) whose fields and tags hold {biggest:,} bytes;"
            f" the limit is {MAX_NOTE_BYTES:,}",
            hint="Nothing was imported. Shrink or remove that note in Anki and export again.",
        )
    collection.notes = conn.execute(
        "SELECT id, guid, mid, mod, tags, flds FROM notes ORDER BY id"
    ).fetchall()
    if len(collection.notes) == 1 and collection.notes[0][5].startswith(DUMMY_TEXT):
        raise PackageError(
            f"{label} holds only Anki's placeholder note ('{DUMMY_TEXT}…'):"
            " its real collection is missing",
            hint="Export the deck from Anki again; nothing was imported.",
        )
    collection.cards = conn.execute(
        "SELECT id, nid, did, ord, queue, flags, odid, type, due FROM cards ORDER BY nid, ord, id"
    ).fetchall()
    collection.revlog = conn.execute(
        "SELECT id, cid, ease, ivl, factor, time, type FROM revlog ORDER BY cid, id"
    ).fetchall()
    return collection


# -- schema 18 --------------------------------------------------------------------------------


def _config18(conn) -> dict:
    out = {}
    for key, val in conn.execute("SELECT KEY, val FROM config"):
        raw = val.encode() if isinstance(val, str) else val
        try:
            out[key] = json.loads(raw)
        except ValueError:
            continue
    return out


def _notetypes18(conn) -> dict[int, AnkiNotetype]:
    out = {}
    for nt_id, name, config in conn.execute("SELECT id, name, config FROM notetypes"):
        cfg = pb.decode(config)
        fields = tuple(
            r[0]
            for r in conn.execute("SELECT name FROM fields WHERE ntid = ? ORDER BY ord", (nt_id,))
        )
        templates = []
        for tname, tconfig in conn.execute(
            "SELECT name, config FROM templates WHERE ntid = ? ORDER BY ord", (nt_id,)
        ):
            t = pb.decode(tconfig)
            templates.append((tname, pb.text(t, 1), pb.text(t, 2)))
        out[nt_id] = AnkiNotetype(
            nt_id,
            name,
            pb.integer(cfg, 1),
            fields,
            tuple(templates),
            pb.text(cfg, 3),
            pb.integer(cfg, 2),
        )
    return out


def _decks18(conn) -> dict[int, AnkiDeck]:
    out = {}
    for deck_id, name, kind in conn.execute("SELECT id, name, kind FROM decks"):
        container = pb.decode(kind)
        normal = pb.message(container, 1)
        out[deck_id] = AnkiDeck(
            deck_id,
            name.replace("\x1f", "::"),
            1 not in container,
            pb.integer(normal, 1, 1),
            pb.text(normal, 4),
        )
    return out


def _presets18(conn) -> dict[int, AnkiPreset]:
    out = {}
    for conf_id, name, config in conn.execute("SELECT id, name, config FROM deck_config"):
        c = pb.decode(config)
        params = pb.floats(c, 6) or pb.floats(c, 5) or pb.floats(c, 3)
        out[conf_id] = AnkiPreset(
            conf_id,
            name,
            tuple(pb.floats(c, 1)),
            tuple(pb.floats(c, 2)),
            pb.integer(c, 9),
            pb.integer(c, 10),
            pb.integer(c, 16, 36500),
            pb.integer(c, 22, 8),
            pb.integer(c, 21) == 0,
            pb.single_float(c, 37, 0.9),
            tuple(params),
        )
    return out


# -- schema 11 --------------------------------------------------------------------------------


def _notetypes11(models: dict) -> dict[int, AnkiNotetype]:
    out = {}
    for key, m in models.items():
        nt_id = int(m.get("id", key))
        fields = tuple(f["name"] for f in sorted(m["flds"], key=lambda f: f.get("ord", 0)))
        templates = tuple(
            (t["name"], t.get("qfmt", ""), t.get("afmt", ""))
            for t in sorted(m["tmpls"], key=lambda t: t.get("ord", 0))
        )
        out[nt_id] = AnkiNotetype(
            nt_id,
            str(m["name"]),
            int(m.get("type", 0)),
            fields,
            templates,
            str(m.get("css", "")),
            int(m.get("sortf", 0)),
        )
    return out


def _decks11(decks: dict) -> dict[int, AnkiDeck]:
    out = {}
    for key, d in decks.items():
        deck_id = int(d.get("id", key))
        out[deck_id] = AnkiDeck(
            deck_id,
            str(d["name"]).replace("\x1f", "::"),
            bool(d.get("dyn", 0)),
            int(d.get("conf", 1) or 1),
            str(d.get("desc", "")),
        )
    return out


def _presets11(dconf: dict) -> dict[int, AnkiPreset]:
    out = {}
    for key, c in dconf.items():
        new, rev, lapse = c.get("new", {}), c.get("rev", {}), c.get("lapse", {})
        params = c.get("fsrsParams6") or c.get("fsrsParams5") or c.get("fsrsWeights") or []
        out[int(c.get("id", key))] = AnkiPreset(
            int(c.get("id", key)),
            str(c.get("name", "Default")),
            tuple(float(x) for x in new.get("delays", [1, 10])),
            tuple(float(x) for x in lapse.get("delays", [10])),
            int(new.get("perDay", 20)),
            int(rev.get("perDay", 200)),
            int(rev.get("maxIvl", 36500)),
            int(lapse.get("leechFails", 8)),
            int(lapse.get("leechAction", 1)) == 0,
            float(c.get("desiredRetention", 0.9)),
            tuple(float(x) for x in params),
        )
    return out

"""Provides Anki package import (``.apkg``, ``.colpkg``) and export (``.apkg``).

Import reads the package safely (``anki_package``: bounded expansion, the right collection member,
never the decoy), reads the collection (``anki_read``), translates it (``anki_map``) and writes it
in **one transaction**: new notes, cards and review events through the bulk path
(``store.bulk_import``), everything that may already exist through ``Collection.write``. Any
failure rolls the transaction back and removes media files this import created, so a bad file
leaves the collection exactly as it was. With ``dry_run`` the same work runs and is rolled back,
so the summary is exactly what a real import would do.

Identity makes re-import harmless: a note keeps Anki's GUID (and gets an id derived from it),
cards have ids derived from note and template, and review events ids derived from
(GUID, card ord, revlog id), so importing the same package twice adds nothing, and two devices
importing it offline create the same rows.

Export (``anki_export``) writes a schema-11 package that Anki 26.x imports with notes, decks, tags,
media and review history.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from flipdeck.core.errors import InvalidInput
from flipdeck.core.html import strip_html
from flipdeck.core.ids import derived_id
from flipdeck.core.notetypes import NoteType
from flipdeck.core.presets import DEFAULT_PRESET_ID
from flipdeck.core.scheduling import CardState, Event
from flipdeck.formats import anki_map, anki_read
from flipdeck.formats.anki_package import Limits, Package, PackageError
from flipdeck.formats.medianames import rename_references
from flipdeck.formats.summary import (
    ImportFailed,
    ImportOptions,
    ImportSummary,
    Progress,
    no_progress,
)
from flipdeck.store import bulk_import, config, decks, notes, notetypes, presets, reviews
from flipdeck.store.notes import format_tags, parse_tags, search_text

__all__ = ["export_package", "import_package", "looks_like_package", "media_dir"]

_COLLECTION_MEMBERS = ("collection.anki21b", "collection.anki21", "collection.anki2")


def looks_like_package(path: Path) -> bool:
    """Whether ``path`` is a zip holding an Anki collection (for format detection)."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False
    return any(m in names for m in _COLLECTION_MEMBERS)


def media_dir(col) -> Path:
    """Where the collection keeps media files, each named by the SHA-256 of its content."""
    return Path(col.path).parent / "media"


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def import_package(
    col,
    path: Path,
    options: ImportOptions,
    progress: Progress = no_progress,
    *,
    limits: Limits | None = None,
) -> ImportSummary:
    """Import an Anki package into ``col`` in one transaction; see the module docstring.

    Raises :class:`ImportFailed` for a file that is not a readable, safe Anki package (nothing
    is written then). ``limits`` bounds how far the package may expand (tests lower it).
    """
    path = Path(path)
    kind = "colpkg" if path.suffix.lower() == ".colpkg" else "apkg"
    summary = ImportSummary(format=kind, dry_run=options.dry_run)
    try:
        package = Package(path, limits)
    except PackageError as error:
        raise _failed(error) from None
    with package:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                collection_file = package.extract_collection(Path(tmp))
                source = anki_read.read_collection(collection_file, path.name)
            entries = package.media()
        except PackageError as error:
            raise _failed(error) from None
        # media are read (and checked) one at a time inside the transaction, never all at once
        media = [(e.name, functools.partial(package.media_bytes, e)) for e in entries]
        renames = {e.original: e.name for e in entries if e.original and e.original != e.name}
        progress(0, len(source.notes))
        _write(col, path, source, media, renames, options, summary, progress)
    progress(len(source.notes), len(source.notes))
    return summary


def _write(col, path, source, media, renames, options, summary, progress) -> None:
    """The import's one transaction (see :func:`import_package`)."""
    created_files: list[Path] = []
    cache = col.conn.execute("PRAGMA cache_size").fetchone()[0]
    try:
        # a big import touches every page of several indexes: keep them in memory meanwhile
        col.conn.execute("PRAGMA cache_size = -262144")
        with col.transaction():
            # a savepoint, so that a failure or a dry run undoes exactly this import even when
            # the caller's transaction encloses it
            col.conn.execute("SAVEPOINT apkg_import")
            try:
                importer = _Importer(col, source, options, summary, progress)
                importer.renamed_media.update(renames)
                importer.label = path.stem
                importer.run(media, created_files)
                if options.dry_run:
                    raise _DryRun
            except BaseException:
                col.conn.execute("ROLLBACK TO apkg_import")
                col.conn.execute("RELEASE apkg_import")
                col.invalidate()  # presets and note types the import installed were undone
                raise
            col.conn.execute("RELEASE apkg_import")
    except _DryRun:
        pass
    except InvalidInput as error:
        _remove(created_files)
        raise _failed(error) from None
    except (TypeError, ValueError, OverflowError) as error:
        _remove(created_files)
        raise ImportFailed(
            f"{path.name} holds rows flipdeck cannot read ({error}); nothing was imported"
        ) from None
    except BaseException:
        _remove(created_files)
        raise
    finally:
        col.conn.execute(f"PRAGMA cache_size = {int(cache)}")


def _search(values: list[str]) -> str:
    """``notes.search_text`` for values in field order, with its plain-text case done inline
    (most fields of a big deck have no markup); equal to it by construction and by test."""
    out = []
    for value in values:
        if "<" in value or "&" in value or "\n" in value or "\r" in value:
            out.append(strip_html(value).casefold())
        else:
            out.append(" ".join(value.split()).casefold())
    return "\x1f".join(out)


def _failed(error: InvalidInput) -> ImportFailed:
    message = error.message + (f" ({error.hint})" if error.hint else "")
    return ImportFailed(message)


def _remove(paths: list[Path]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


class _Importer:
    """One import's working state: the maps from Anki ids to flipdeck rows."""

    def __init__(self, col, source, options: ImportOptions, summary, progress) -> None:
        self.col = col
        self.source = source
        self.options = options
        self.summary = summary
        self.progress = progress
        self.calendar = config.calendar(col)
        self.now = col.now()
        self.notetypes: dict[int, NoteType] = {}
        self.deck_ids: dict[int, str] = {}
        self.preset_ids: dict[int, str] = {}
        self.label = "imported"
        self.renamed_media: dict[str, str] = {}

    # -- the steps, in order -------------------------------------------------------------------

    def run(self, media: list[tuple[str, Callable[[], bytes]]], created: list[Path]) -> None:
        self._media(media, created)
        self._map_notetypes()
        rows = len(self.source.notes) + len(self.source.cards)
        with bulk_import.deferred_indexes(self.col, ("notes", "cards"), rows):
            imported = self._notes()
            self._cards(imported)

    # -- media ---------------------------------------------------------------------------------

    def _media(self, media: list[tuple[str, Callable[[], bytes]]], created: list[Path]) -> None:
        """Store media content-addressed; a name taken by other content is renamed (as Anki
        does), and notes' references follow the new name."""
        if not media:
            return
        conn = self.col.conn
        folder = media_dir(self.col)
        for name, load in media:
            data = load()
            digest = hashlib.sha256(data).hexdigest()
            same = conn.execute("SELECT name FROM media WHERE sha256 = ?", (digest,)).fetchone()
            if same is not None:
                if same[0] != name:
                    self._rename(name, same[0])
                self._write_file(folder, digest, data, created)
                continue
            final = name
            taken = conn.execute(
                "SELECT sha256 FROM media WHERE name = ? AND deleted = 0", (name,)
            ).fetchone()
            if taken is not None:
                stem, dot, ext = name.rpartition(".")
                final = f"{stem}-{digest[:8]}.{ext}" if dot else f"{name}-{digest[:8]}"
                self._rename(name, final)
            conn.execute(
                "INSERT INTO media(sha256, name, size, data, added, deleted) VALUES (?,?,?,?,?,0)",
                (digest, final, len(data), None, self.now),
            )
            self._write_file(folder, digest, data, created)
            self.summary.media += 1

    def _rename(self, name: str, final: str) -> None:
        """Make references to ``name`` (and to the names that were normalised into it) point
        at ``final``."""
        for original, target in list(self.renamed_media.items()):
            if target == name:
                self.renamed_media[original] = final
        self.renamed_media[name] = final

    def _write_file(self, folder: Path, digest: str, data: bytes, created: list[Path]) -> None:
        if self.options.dry_run:
            return
        target = folder / digest
        if target.exists():
            return
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".{digest}.{os.getpid()}.tmp"
        try:
            temp.write_bytes(data)
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        created.append(target)

    # -- note types, decks, presets -----------------------------------------------------------

    def _map_notetypes(self) -> None:
        used = {note[2] for note in self.source.notes}
        existing = notetypes.all_notetypes(self.col)
        for mid in sorted(used):
            nt = self.source.notetypes.get(mid)
            if nt is None:
                raise PackageError(
                    f"the package has notes of a note type it does not contain (id {mid})",
                    hint="Run Tools › Check Database in Anki and export again.",
                )
            match = anki_map.match_notetype(nt, existing)
            if match is None:
                fresh = anki_map.new_notetype(nt, [n.name for n in existing])
                row = self.col.conn.execute(
                    "SELECT deleted FROM notetypes WHERE id = ?", (fresh.id,)
                ).fetchone()
                if row is not None and not row[0]:
                    match = notetypes.load(self.col, fresh.id)
                else:
                    match = notetypes.install(self.col, fresh)
                    existing.append(match)
                    self.summary.notetypes += 1
            self.notetypes[mid] = match

    def _deck_for(self, did: int) -> str:
        """The flipdeck deck id for Anki deck ``did`` (created, with parents, when missing).

        Decks this import creates, parents included, get the preset of the Anki deck of the
        same name; decks that already exist keep theirs."""
        if self.options.deck:
            did = -1
        cached = self.deck_ids.get(did)
        if cached is not None:
            return cached
        if did == -1:
            name = self.options.deck
        else:
            source = self.source.decks.get(did)
            name = source.name if source is not None else "Default"
        assert name is not None
        parts = [p.strip() for p in name.split("::") if p.strip()]
        name = "::".join(parts) or "Default"
        before = {d.id for d in decks.all_decks(self.col)}
        deck = decks.ensure(self.col, name)
        created = [d for d in decks.all_decks(self.col) if d.id not in before]
        self.summary.decks += len(created)
        by_name = {d.name.casefold(): d for d in self.source.decks.values() if not d.filtered}
        for new in sorted(created, key=lambda d: d.name.count("::")):
            anki_deck = by_name.get(new.name.casefold())
            if anki_deck is None:
                continue
            preset_id = self._preset_for(anki_deck.conf_id)
            if preset_id != new.preset_id:
                decks.set_preset(self.col, new, preset_id)
        self.deck_ids[did] = deck.id
        return deck.id

    def _preset_for(self, conf_id: int) -> str:
        """The flipdeck preset scheduling like Anki preset ``conf_id``: the default preset when
        the options agree with it, else one with the same options made by an earlier import
        (its id derives from the options), else a new one named after Anki's."""
        cached = self.preset_ids.get(conf_id)
        if cached is not None:
            return cached
        self.preset_ids[conf_id] = preset_id = self._find_preset(conf_id)
        return preset_id

    def _find_preset(self, conf_id: int) -> str:
        anki = self.source.presets.get(conf_id)
        if anki is None:
            return DEFAULT_PRESET_ID
        try:
            options = anki_map.preset_from_anki(anki)
        except InvalidInput:
            return DEFAULT_PRESET_ID
        default = presets.load(self.col, DEFAULT_PRESET_ID)
        if anki_map.same_options(default, options):
            return DEFAULT_PRESET_ID
        preset_id = derived_id("anki-preset", options.name, repr(sorted(vars(options).items())))
        existing = presets.all_presets(self.col)
        for preset in existing:
            if preset.id == preset_id and anki_map.same_options(preset, options):
                return preset_id
        names = {p.name.casefold() for p in existing}
        name = options.name
        if name.casefold() in names:
            name = f"{options.name} ({self.label})"
        n = 1
        while name.casefold() in names:
            n += 1
            name = f"{options.name} ({self.label} {n})"
        presets.save(self.col, dataclasses.replace(options, id=preset_id, name=name))
        return preset_id

    # -- notes ---------------------------------------------------------------------------------

    def _notes(self) -> dict[int, tuple[str, str, NoteType, int]]:
        """Add or update the notes; returns ``{Anki note id: (note id, guid, type, created)}``
        for the notes whose cards are to be imported."""
        col = self.col
        extra_tags = parse_tags(self.options.tags)
        on_duplicate = self.options.on_duplicate
        known = {
            guid: (note_id, notetype_id, deleted)
            for guid, note_id, notetype_id, deleted in col.conn.execute(
                "SELECT guid, id, notetype_id, deleted FROM notes"
            )
        }
        fast_id = bulk_import.derived_id
        wanted = [fast_id("anki-note", str(n[1])) for n in self.source.notes]
        taken = bulk_import.existing_ids(col, "notes", wanted)
        imported: dict[int, tuple[str, str, NoteType, int]] = {}
        fresh: list[tuple] = []  # bulk_import.NewNote fields, as plain tuples for speed
        renamed = self.renamed_media
        total = len(self.source.notes)
        tag_forms: dict[str, str] = {}
        field_ids = {mid: [f.id for f in nt.fields] for mid, nt in self.notetypes.items()}
        for index, (anki_id, anki_guid, mid, _mod, tags, flds) in enumerate(self.source.notes):
            nt = self.notetypes[mid]
            if renamed:
                flds = rename_references(flds, renamed)
            ids = field_ids[mid]
            values = flds.split("\x1f")
            if len(values) != len(ids):
                values = (values + [""] * len(ids))[: len(ids)]
            fields = dict(zip(ids, values, strict=True))
            tag_text = tag_forms.get(tags)
            if tag_text is None:
                tag_text = tag_forms[tags] = format_tags(parse_tags([tags, *extra_tags]))
            created = int(anki_id)
            guid = anki_guid if type(anki_guid) is str else str(anki_guid)
            hit = known.get(guid)
            if hit is not None and on_duplicate == "add":
                guid, hit = notes.new_guid(), None
            if hit is not None:
                note_id, notetype_id, deleted = hit
                if notetype_id != nt.id:
                    self.summary.skipped += 1
                    self.summary.errors.append(
                        f"note {guid!r} exists with another note type; left unchanged"
                    )
                    continue
                if on_duplicate == "skip" and not deleted:
                    self.summary.skipped += 1
                    continue
                if self._update(note_id, nt, fields, tag_text, deleted):
                    self.summary.updated += 1
                else:
                    self.summary.skipped += 1
                imported[anki_id] = (note_id, guid, nt, created)
                continue
            note_id = wanted[index] if guid == anki_guid else fast_id("anki-note", guid)
            if note_id in taken:
                note_id = col.new_id()
            known[guid] = (note_id, nt.id, 0)
            taken[note_id] = 0
            search = [
                strip_html(v).casefold()
                if "<" in v or "&" in v or "\n" in v or "\r" in v
                else " ".join(v.split()).casefold()
                for v in values
            ]  # _search, inline: this loop runs once per note of a deck
            fresh.append((note_id, nt.id, guid, fields, tag_text, created, "\x1f".join(search)))
            imported[anki_id] = (note_id, guid, nt, created)
            if len(fresh) >= 25_000:
                bulk_import.insert_notes(col, fresh)
                self.summary.added += len(fresh)
                fresh = []
                self.progress(index, total)
        bulk_import.insert_notes(col, fresh)
        self.summary.added += len(fresh)
        return imported

    def _update(self, note_id: str, nt: NoteType, fields: dict, tags: str, deleted: int) -> bool:
        """Bring an existing note to the package's content; whether anything changed."""
        note = self.col.conn.execute(
            "SELECT fields, tags FROM notes WHERE id = ?", (note_id,)
        ).fetchone()
        import json

        current = json.loads(note[0] or "{}")
        changes: dict = {f"fields.{k}": v for k, v in fields.items() if current.get(k) != v}
        if note[1] != tags:
            changes["tags"] = tags
        if deleted:
            changes["deleted"] = 0
        if not changes:
            return False
        self.col.write("note", note_id, changes)
        merged = {**current, **fields}
        self.col.conn.execute(
            "UPDATE notes SET search = ? WHERE id = ?", (search_text(nt, merged), note_id)
        )
        return True

    # -- cards and their review history -------------------------------------------------------

    def _cards(self, imported: dict[int, tuple[str, str, NoteType, int]]) -> None:
        col = self.col
        revlog: dict[int, list[tuple]] = defaultdict(list)
        for row in self.source.revlog:
            revlog[row[1]].append(row)
        crt_day = self.calendar.day(int(self.source.crt) * 1000 + 43_200_000)
        buried_until = self.calendar.next_cutoff(self.now)
        card_key = anki_map.card_key
        fast_id = bulk_import.derived_id
        planned = []
        seen: set[str] = set()
        keys: dict[tuple[str, int], str | None] = {}
        for anki_cid, nid, did, ord_, queue, flags, odid, ctype, due in self.source.cards:
            target = imported.get(nid)
            if target is None:
                continue
            note_id, guid, nt, created = target
            key = keys.get((nt.id, ord_), "")
            if key == "":
                key = keys[(nt.id, ord_)] = card_key(nt, int(ord_))
            if key is None:
                self.summary.errors.append(f"card {anki_cid}: its note type has no card {ord_}")
                continue
            card_id = fast_id("card", note_id, key)
            if card_id in seen:
                continue
            seen.add(card_id)
            deck_id = self.deck_ids.get(-1 if self.options.deck else (odid or did))
            if deck_id is None:
                deck_id = self._deck_for(odid or did)
            rows = revlog.get(anki_cid)
            events = anki_map.review_events(rows, guid, int(ord_), self._day) if rows else []
            if ctype in (2, 3) and not any(e.rating for e in events):
                # scheduled in Anki but with no history (an export without the review log):
                # keep the due date, as a manual "set due" event
                day = crt_day + int(due) if ctype == 2 else self.calendar.day(self.now) + 1
                events.append(
                    anki_map.ReviewEvent(
                        derived_id("anki-due", guid, str(ord_), str(due)),
                        0,
                        self.now,
                        None,
                        "manual",
                        f'{{"action":"set_due","day":{day}}}',
                    )
                )
            planned.append((card_id, note_id, key, ord_, deck_id, queue, flags, created, events))
        existing = bulk_import.existing_ids(col, "cards", [p[0] for p in planned])
        fresh: list[tuple] = []  # bulk_import.NewCard fields
        all_events: list[bulk_import.NewReview] = []
        refold: list[str] = []
        blank = CardState()
        for card_id, note_id, key, ord_, deck_id, queue, flags, created, events in planned:
            state = blank
            if events:
                for e in events:
                    all_events.append(
                        bulk_import.NewReview(
                            e.id, card_id, e.rating, e.reviewed_at, e.duration_ms, e.kind, e.data
                        )
                    )
                if card_id not in existing:
                    ordered = sorted(events, key=lambda e: (e.reviewed_at, e.id))
                    state = self._scheduler(deck_id).fold(
                        card_id,
                        [Event(e.id, e.reviewed_at, e.rating, e.kind, e.data) for e in ordered],
                    )
            if card_id in existing:
                if existing[card_id]:
                    col.write("card", card_id, {"deleted": 0, "deck_id": deck_id})
                refold.append(card_id)
                continue
            fresh.append(
                (
                    card_id,
                    note_id,
                    key,
                    ord_,
                    deck_id,
                    flags & 7,
                    1 if queue == -1 else 0,
                    buried_until if queue in (-2, -3) else 0,
                    state,
                    created,
                )
            )
        bulk_import.insert_cards(col, fresh)
        self.summary.cards += len(fresh)
        if refold:
            # cards that were there before: re-fold those whose log grows (or that came back)
            known = bulk_import.known_review_ids(col, [e.id for e in all_events])
            grown = {e.card_id for e in all_events if e.id not in known}
            refold = [cid for cid in refold if cid in grown or existing[cid]]
        self.summary.reviews += bulk_import.append_reviews(col, all_events)
        reviews.refold(col, refold)

    def _day(self, ms: int) -> int:
        return self.calendar.day(int(ms))

    def _scheduler(self, deck_id: str):
        preset_id = self.col.conn.execute(
            "SELECT preset_id FROM decks WHERE id = ?", (deck_id,)
        ).fetchone()[0]
        return presets.scheduler(self.col, preset_id or DEFAULT_PRESET_ID)


def export_package(
    col,
    path: Path,
    card_ids: list[str] | None,
    *,
    include_history: bool = True,
    progress: Progress = no_progress,
) -> int:
    """Write an ``.apkg`` Anki imports (see ``anki_export``); returns the cards exported
    (``card_ids`` None: every live card). The file appears atomically or not at all."""
    from flipdeck.formats import anki_export

    return anki_export.export_package(
        col, path, card_ids, include_history=include_history, progress=progress
    )

"""Exporting ``.apkg``: the real Anki (the ``anki`` wheel from PyPI, a test dependency) imports
what flipdeck writes with notes, decks, tags, media and review history, and replays the history
to the memory state flipdeck holds; flipdeck reads its own export back unchanged."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flipdeck.formats.apkg import export_package, import_package
from flipdeck.formats.summary import ImportOptions
from flipdeck.store import config, decks, notes, notetypes, reviews
from flipdeck.store.collection import Collection

from .test_apkg_import import DATA, EXPECTED, EXPORTED_AT

TYPE_NAMES = {0: "new", 1: "learning", 2: "review", 3: "relearning"}
QUEUE_NAMES = {
    -3: "manually_buried",
    -2: "sibling_buried",
    -1: "suspended",
    0: "new",
    1: "learning",
    2: "review",
    3: "learning",
}


@pytest.fixture
def spanish(col, clock):
    """A collection holding the Spanish deck, imported from Anki's own export."""
    clock.ms = EXPORTED_AT
    import_package(col, DATA / "spanish-latest.apkg", ImportOptions())
    return col


def _anki_import(tmp_path: Path, package: Path):
    anki = pytest.importorskip("anki.collection")
    target = tmp_path / "anki" / "collection.anki2"
    target.parent.mkdir()
    anki_col = anki.Collection(str(target))
    request = anki.ImportAnkiPackageRequest(
        package_path=str(package),
        options=anki.ImportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True),
    )
    return anki_col, anki_col.import_anki_package(request).log


def test_anki_imports_the_export_with_history(spanish, tmp_path):
    out = tmp_path / "spanish.apkg"
    assert export_package(spanish, out, None) == 61
    anki_col, log = _anki_import(tmp_path, out)
    try:
        expected = EXPECTED["files"]["spanish-latest.apkg"]["contents"]
        assert (len(log.new), len(log.updated), len(log.duplicate)) == (48, 0, 0)
        assert anki_col.note_count() == 48
        assert anki_col.card_count() == 61
        assert anki_col.db.scalar("SELECT count() FROM revlog") == 85
        assert (
            anki_col.db.scalar("SELECT sum(time) FROM revlog") == expected["revlog_time_ms_total"]
        )
        eases = Counter(e for (e,) in anki_col.db.all("SELECT ease FROM revlog"))
        assert {str(k): v for k, v in eases.items()} == expected["revlog_by_ease"]

        names = {d.name for d in anki_col.decks.all_names_and_ids()}
        assert names == set(expected["decks_in_collection"])
        by_deck = dict(
            anki_col.db.all(
                "SELECT d.name, count() FROM cards c JOIN decks d ON d.id = c.did GROUP BY d.name"
            )
        )
        assert {k.replace("\x1f", "::"): v for k, v in by_deck.items()} == expected["cards_by_deck"]
        assert sorted(anki_col.tags.all()) == expected["tags_on_notes"]

        by_type_queue = Counter(
            (TYPE_NAMES[t], QUEUE_NAMES[q])
            for t, q in anki_col.db.all("SELECT type, queue FROM cards")
        )
        assert {(e["type"], e["queue"]): e["count"] for e in expected["cards_by_type_queue"]} == (
            dict(by_type_queue)
        )
        assert anki_col.db.scalar("SELECT count() FROM cards WHERE flags & 7 = 1") == 1

        for sample in expected["sample_notes"]:
            nid = anki_col.db.scalar("SELECT id FROM notes WHERE guid = ?", sample["guid"])
            note = anki_col.get_note(nid)
            assert dict(note.items()) == sample["fields"]
            assert sorted(note.tags) == sample["tags"]
            # Anki keeps its own stock "Basic" and adds ours beside it as "Basic+" (it matches
            # note types by id, and a flipdeck note type cannot carry the id Anki gave its own)
            assert note.note_type()["name"] in (sample["notetype"], sample["notetype"] + "+")

        media = Path(anki_col.media.dir()) / "spain-flag.png"
        assert hashlib.sha1(media.read_bytes()).hexdigest() == (
            "d03f44baa81a9cada023dd5cc44e4ec868eff1f2"
        )

        # Anki replays the exported history to the memory state flipdeck derived
        ours = {
            (guid, ord_): (s, d)
            for guid, ord_, s, d in spanish.conn.execute(
                "SELECT n.guid, c.ord, c.stability, c.difficulty FROM cards c"
                " JOIN notes n ON n.id = c.note_id WHERE c.stability IS NOT NULL"
            )
        }
        assert len(ours) == 23
        for guid, ord_ in ours:
            cid = anki_col.db.scalar(
                "SELECT c.id FROM cards c JOIN notes n ON n.id = c.nid"
                " WHERE n.guid = ? AND c.ord = ?",
                guid,
                ord_,
            )
            state = anki_col.compute_memory_state(cid)
            s, d = ours[(guid, ord_)]
            assert state.stability == pytest.approx(s, rel=1e-4), guid
            assert state.difficulty == pytest.approx(d, abs=1e-4), guid
    finally:
        anki_col.close()


def test_anki_imports_the_genanki_round_trip(col, tmp_path):
    """A custom note type survives flipdeck: Anki recreates it with its fields and templates."""
    import_package(col, DATA / "genanki-basic.apkg", ImportOptions())
    out = tmp_path / "geo.apkg"
    assert export_package(col, out, None, include_history=False) == 20
    anki_col, log = _anki_import(tmp_path, out)
    try:
        assert len(log.new) == 20
        model = anki_col.models.by_name("Basic (genanki)")
        assert [f["name"] for f in model["flds"]] == ["Front", "Back"]
        assert {d.name for d in anki_col.decks.all_names_and_ids()} == {
            "Default",
            "Geography",
            "Geography::Capitals",
        }
    finally:
        anki_col.close()


def _content(col) -> dict:
    """Everything an export must carry, keyed so that ids do not matter."""
    out = {}
    for note_id, guid, nt, fields, tags in col.conn.execute(
        "SELECT n.id, n.guid, t.name, n.fields, n.tags FROM notes n"
        " JOIN notetypes t ON t.id = n.notetype_id WHERE n.deleted = 0"
    ):
        notetype = notetypes.find(col, nt)
        values = notetype.values_by_name(json.loads(fields))
        cards = {}
        for card_id, ord_, deck, flag, suspended, *state in col.conn.execute(
            "SELECT c.id, c.ord, d.name, c.flag, c.suspended, c.state, c.stability,"
            " c.difficulty, c.reps, c.lapses FROM cards c JOIN decks d ON d.id = c.deck_id"
            " WHERE c.note_id = ? AND c.deleted = 0",
            (note_id,),
        ):
            log = col.conn.execute(
                "SELECT rating, reviewed_at, duration_ms, kind FROM reviews WHERE card_id = ?"
                " ORDER BY reviewed_at, id",
                (card_id,),
            ).fetchall()
            cards[ord_] = (deck, flag, suspended, *state, log)
        out[guid] = (nt, values, tags.split(), cards)
    return out


def test_flipdeck_reads_its_export_back(spanish, tmp_path, clock):
    out = tmp_path / "back.apkg"
    export_package(spanish, out, None)
    other = Collection.open(tmp_path / "other.db", now=clock)
    try:
        with other.transaction():
            config.set_value(other, "timezone", "UTC")
        summary = import_package(other, out, ImportOptions())
        assert (summary.added, summary.cards, summary.reviews, summary.media) == (48, 61, 85, 1)
        assert _content(other) == _content(spanish)
    finally:
        other.close()


def test_export_of_selected_cards(spanish, tmp_path):
    deck = decks.find(spanish, "Spanish::Verbs")
    ids = [r[0] for r in spanish.conn.execute("SELECT id FROM cards WHERE deck_id = ?", (deck.id,))]
    out = tmp_path / "verbs.apkg"
    assert export_package(spanish, out, ids) == 26
    with zipfile.ZipFile(out) as z:
        assert set(z.namelist()) >= {"collection.anki2", "media"}
        assert json.loads(z.read("media")) == {}  # the flag picture is a noun's


def test_export_replaces_atomically(spanish, tmp_path, monkeypatch):
    """A failing export leaves an existing file as it was and no temporary file behind."""
    from flipdeck.formats import anki_export

    out = tmp_path / "keep.apkg"
    out.write_bytes(b"previous export")

    def broken(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(anki_export, "_revlog_rows", broken)
    with pytest.raises(OSError):
        export_package(spanish, out, None)
    assert out.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tmp") == []


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x1f"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip())
_TAG = st.text(alphabet="abcdefghij:_-é", min_size=1, max_size=8).filter(
    lambda t: t.strip(":") == t and "::" not in t[:1]
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.lists(
        st.tuples(
            _TEXT,
            _TEXT,
            st.lists(_TAG, max_size=3, unique_by=str.casefold),
            st.sampled_from(["Default", "Lang::Spanish", "Lang::French::Verbs"]),
            st.lists(st.tuples(st.integers(1, 4), st.integers(60_000, 9 * 86_400_000)), max_size=6),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_round_trip_property(tmp_path_factory, data):
    """Export then import gives the same notes, cards, review log and derived state."""
    tmp = tmp_path_factory.mktemp("rt")
    now = [EXPORTED_AT]
    source = Collection.open(tmp / "a.db", now=lambda: now[0])
    target = Collection.open(tmp / "b.db", now=lambda: now[0])
    try:
        for c in (source, target):
            with c.transaction():
                config.set_value(c, "timezone", "UTC")
        basic = notetypes.find(source, "Basic")
        with source.transaction():
            for front, back, tags, deck_name, answers in data:
                deck = decks.ensure(source, deck_name)
                _note, card_ids = notes.add(source, basic, deck.id, [front, back], tags)
                at = now[0]
                for rating, gap in answers:
                    at += gap
                    reviews.answer(source, card_ids[0], rating, at=at, duration_ms=gap % 60_000)
        out = tmp / "rt.apkg"
        assert export_package(source, out, None) == len(data)
        import_package(target, out, ImportOptions())
        mine, theirs = _content(source), _content(target)
        assert theirs.keys() == mine.keys()
        # Anki's revlog id is the answer time in ms and must be unique, so two answers given in
        # the same millisecond (to different cards) come back 1 ms apart, as in Anki itself
        slack = sum(len(answers) for *_rest, answers in data)
        for guid, (nt, values, tags, cards) in mine.items():
            their_nt, their_values, their_tags, their_cards = theirs[guid]
            assert (their_nt, their_values, their_tags) == (nt, values, tags)
            assert their_cards.keys() == cards.keys()
            for ord_, (*state, log) in cards.items():
                *their_state, their_log = their_cards[ord_]
                assert their_state == state, guid
                assert [(r, d, k) for r, _at, d, k in their_log] == [
                    (r, d, k) for r, _at, d, k in log
                ]
                assert all(0 <= b[1] - a[1] <= slack for a, b in zip(log, their_log, strict=True))
    finally:
        source.close()
        target.close()


def test_export_without_history_keeps_due_dates(spanish, tmp_path, clock):
    """Without the review log, review cards keep their due day (read back as "set due"
    events); cards still in (re)learning have no step to resume: relearning ones come back as
    review cards due tomorrow, learning ones as new."""
    out = tmp_path / "nohist.apkg"
    export_package(spanish, out, None, include_history=False)
    with zipfile.ZipFile(out) as z, tempfile.TemporaryDirectory() as tmp:
        z.extract("collection.anki2", tmp)
        conn = sqlite3.connect(Path(tmp) / "collection.anki2")
        assert conn.execute("SELECT count(*) FROM revlog").fetchone()[0] == 0
        conn.close()
    other = Collection.open(tmp_path / "other.db", now=clock)
    try:
        with other.transaction():
            config.set_value(other, "timezone", "UTC")
        summary = import_package(other, out, ImportOptions())
        assert (summary.added, summary.cards, summary.reviews) == (48, 61, 20)
        query = (
            "SELECT n.guid, c.ord, c.due FROM cards c JOIN notes n ON n.id = c.note_id"
            " WHERE c.state = 2"
        )
        before = {(g, o): due for g, o, due in spanish.conn.execute(query)}
        after = {(g, o): due for g, o, due in other.conn.execute(query)}
        assert len(before) == 19 and len(after) == 20
        assert all(after[key] == due for key, due in before.items())
        states = dict(other.conn.execute("SELECT state, count(*) FROM cards GROUP BY state"))
        assert states == {0: 41, 2: 20}
        assert reviews.stale_cards(other) == []
    finally:
        other.close()


def test_a_learning_step_ending_another_day_goes_to_ankis_day_queue(col, clock, tmp_path):
    """With a 2-day learning step, the card is in learning until a later day: Anki keeps such
    cards in queue 3 with a day number, not in the intraday queue with a time."""
    from flipdeck.core.presets import DEFAULT_PRESET_ID
    from flipdeck.store import presets

    with col.transaction():
        preset = presets.load(col, DEFAULT_PRESET_ID)
        presets.save(col, preset.with_options(learning_steps=(1.0, 2880.0)))
        deck = decks.ensure(col, "Steps")
        _note, (card_id,) = notes.add(col, notetypes.find(col, "Basic"), deck.id, ["a", "b"])
        reviews.answer(col, card_id, 3, at=clock.ms)  # Good: on to the 2-day step
    out = tmp_path / "steps.apkg"
    export_package(col, out, None)
    with zipfile.ZipFile(out) as z, tempfile.TemporaryDirectory() as tmp:
        z.extract("collection.anki2", tmp)
        conn = sqlite3.connect(Path(tmp) / "collection.anki2")
        crt = conn.execute("SELECT crt FROM col").fetchone()[0]
        card_type, queue, due = conn.execute("SELECT type, queue, due FROM cards").fetchone()
        conn.close()
    calendar = config.calendar(col)
    assert (card_type, queue) == (1, 3)
    assert due == calendar.day(clock.ms) + 2 - calendar.day(crt * 1000 + 1000)

"""Bad packages: each is refused with a clear :class:`ImportFailed`, and the collection (rows,
change log and media folder) is exactly as it was before."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from flipdeck.formats import anki_read
from flipdeck.formats.anki_package import Limits
from flipdeck.formats.apkg import import_package, media_dir
from flipdeck.formats.summary import ImportFailed, ImportOptions

from .test_apkg_import import DATA, _snapshot

GENANKI = DATA / "genanki-basic.apkg"


def _refused(col, path: Path, match: str, **kwargs) -> ImportFailed:
    before = _snapshot(col)
    with pytest.raises(ImportFailed, match=match) as info:
        import_package(col, path, ImportOptions(), **kwargs)
    assert _snapshot(col) == before
    assert not media_dir(col).exists() or not any(media_dir(col).iterdir())
    return info.value


def _genanki_collection() -> bytes:
    with zipfile.ZipFile(GENANKI) as z:
        return z.read("collection.anki2")


def _package(path: Path, members: dict[str, bytes], *, method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _edited_collection(sql: str, *params) -> bytes:
    """The genanki collection with one statement applied."""
    conn = sqlite3.connect(":memory:")
    conn.deserialize(_genanki_collection())
    conn.execute(sql, params)
    conn.commit()
    return conn.serialize()


def test_not_a_zip(col, tmp_path):
    path = tmp_path / "deck.apkg"
    path.write_text("front,back\n", encoding="utf-8")
    _refused(col, path, "not a zip file")


def test_missing_file(col, tmp_path):
    _refused(col, tmp_path / "nope.apkg", "does not exist")


def test_truncated_zip(col, tmp_path):
    path = tmp_path / "cut.apkg"
    data = (DATA / "spanish-latest.apkg").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refused(col, path, "not a zip file|truncated|damaged")


def test_truncated_member(col, tmp_path):
    """A zip whose central directory is intact but whose collection bytes were damaged."""
    raw = bytearray((DATA / "spanish-legacy.apkg").read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as z:
        info = z.getinfo("collection.anki21")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + 100 : start + 5000] = b"\0" * 4900
    path = tmp_path / "damaged.apkg"
    path.write_bytes(bytes(raw))
    _refused(col, path, "damaged|not a readable SQLite")


def test_corrupt_sqlite_inside(col, tmp_path):
    path = _package(tmp_path / "bad.apkg", {"collection.anki2": b"SQLite format 3\0" + b"x" * 4000})
    error = _refused(col, path, "not a readable SQLite database")
    assert "bad.apkg" in str(error)


def test_sqlite_that_is_not_a_collection(col, tmp_path):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE hello(x)")
    path = _package(tmp_path / "other.apkg", {"collection.anki2": conn.serialize()})
    _refused(col, path, "not a readable SQLite database|no such table")


def test_zip_without_collection(col, tmp_path):
    path = _package(tmp_path / "empty.apkg", {"media": b"{}"})
    _refused(col, path, "not an Anki package")


def test_only_the_placeholder_collection(col, tmp_path):
    """A modern package whose real collection is missing: only Anki's decoy is left, and its
    "please update" note must never be imported."""
    with zipfile.ZipFile(DATA / "spanish-latest.apkg") as z:
        members = {n: z.read(n) for n in z.namelist() if n != "collection.anki21b"}
    path = _package(tmp_path / "decoy.apkg", members, method=zipfile.ZIP_STORED)
    _refused(col, path, "placeholder")


def test_zip_bomb_is_bounded(col, tmp_path):
    """A member that inflates far beyond the package's size is stopped while it expands."""
    bomb = b"\0" * (8 << 20)
    path = _package(
        tmp_path / "bomb.apkg",
        {
            "collection.anki2": _genanki_collection(),
            "0": bomb,
            "media": json.dumps({"0": "a.png"}).encode(),
        },
    )
    assert path.stat().st_size < 100_000
    limits = Limits(floor=1 << 20, ratio=20)
    _refused(col, path, "zip bomb|expands too far", limits=limits)


def test_zip_bomb_lying_about_sizes(col, tmp_path):
    """A member whose declared size is small but which inflates to much more is cut off at
    the declared size and then fails its CRC: refused as damaged, never read in full."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("collection.anki2", _genanki_collection())
        z.writestr("media", json.dumps({"0": "a.png"}))
        z.writestr("0", b"\0" * (8 << 20))
    raw = bytearray(buffer.getvalue())
    central = raw.find(b"PK\x01\x02")
    while central != -1:  # set member "0"'s size in the central directory to 10 bytes
        name_len = int.from_bytes(raw[central + 28 : central + 30], "little")
        if raw[central + 46 : central + 46 + name_len] == b"0":
            raw[central + 24 : central + 28] = (10).to_bytes(4, "little")
        central = raw.find(b"PK\x01\x02", central + 4)
    path = tmp_path / "liar.apkg"
    path.write_bytes(bytes(raw))
    _refused(col, path, "damaged.*CRC")


@pytest.mark.parametrize("member", ["collection.anki21b", "0"])
def test_zstd_bomb_is_stopped_while_it_expands(col, tmp_path, member):
    """zstd members declare only their compressed size, so only counting the bytes that come
    out can stop them: a tiny member inflating to 64 MiB is refused at the per-file limit."""
    import zstandard

    with zipfile.ZipFile(DATA / "spanish-latest.apkg") as z:
        members = {n: z.read(n) for n in z.namelist()}
    members[member] = zstandard.ZstdCompressor().compress(b"\0" * (64 << 20))
    assert len(members[member]) < 10_000
    path = _package(tmp_path / "zbomb.apkg", members, method=zipfile.ZIP_STORED)
    _refused(col, path, "expands past", limits=Limits(member=16 << 20))


@pytest.mark.parametrize(
    "name", ["../../evil.png", "/etc/passwd", "sub/dir.png", "..\\evil.png", "..", ""]
)
def test_path_traversal_in_media_names(col, tmp_path, name):
    path = _package(
        tmp_path / "evil.apkg",
        {
            "collection.anki2": _genanki_collection(),
            "media": json.dumps({"0": name}).encode(),
            "0": b"payload",
        },
    )
    _refused(col, path, "path|no usable name")
    assert not (tmp_path / "evil.png").exists()


def test_absurdly_large_field(col, tmp_path):
    huge = "x" * (anki_read.MAX_NOTE_BYTES + 1)
    data = _edited_collection(
        "UPDATE notes SET flds = ? WHERE id = (SELECT min(id) FROM notes)", huge + "\x1fback"
    )
    path = _package(tmp_path / "huge.apkg", {"collection.anki2": data, "media": b"{}"})
    _refused(col, path, "fields and tags hold .* bytes")


def test_absurdly_long_tags(col, tmp_path):
    tags = " " + " ".join(f"t{i}" for i in range(3_000_000)) + " "
    data = _edited_collection(
        "UPDATE notes SET tags = ? WHERE id = (SELECT min(id) FROM notes)", tags
    )
    path = _package(tmp_path / "tags.apkg", {"collection.anki2": data, "media": b"{}"})
    _refused(col, path, "fields and tags hold .* bytes")


def test_notes_of_a_missing_note_type(col, tmp_path):
    data = _edited_collection("UPDATE notes SET mid = 42 WHERE id = (SELECT min(id) FROM notes)")
    path = _package(tmp_path / "orphan.apkg", {"collection.anki2": data, "media": b"{}"})
    _refused(col, path, "note type it does not contain")


def test_garbled_settings(col, tmp_path):
    data = _edited_collection("UPDATE col SET models = '{not json'")
    path = _package(tmp_path / "garbled.apkg", {"collection.anki2": data, "media": b"{}"})
    _refused(col, path, "do not parse")


def test_media_map_that_is_not_json(col, tmp_path):
    path = _package(
        tmp_path / "map.apkg", {"collection.anki2": _genanki_collection(), "media": b"\xff\xfe"}
    )
    _refused(col, path, "media map")


def test_media_failing_its_checksum(col, tmp_path):
    """A modern package whose media bytes do not match the SHA-1 its map records."""
    import zstandard

    with zipfile.ZipFile(DATA / "spanish-latest.apkg") as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["0"] = zstandard.ZstdCompressor().compress(b"not the flag")
    path = _package(tmp_path / "sha.apkg", members, method=zipfile.ZIP_STORED)
    _refused(col, path, "SHA-1")


def test_a_failure_late_in_the_import_rolls_everything_back(col, tmp_path, monkeypatch):
    """Even after media were written and rows inserted, a failure leaves nothing behind."""
    from flipdeck.store import bulk_import

    def boom(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(bulk_import, "append_reviews", boom)
    before = _snapshot(col)
    with pytest.raises(RuntimeError):
        import_package(col, DATA / "spanish-latest.apkg", ImportOptions())
    assert _snapshot(col) == before
    assert not any(media_dir(col).iterdir())

"""Provides safe reading of Anki package zips (``.apkg``, ``.colpkg``): which variant a file is,
its collection extracted to a temporary SQLite file, and its media files with sanitised names.

Every byte read is counted against :class:`Limits` (a zip bomb is refused as it expands, never
trusting the sizes the zip claims), the ``meta`` member decides the variant (so the decoy
``collection.anki2`` of newer packages is never read), and zstd members are decompressed as a
stream, because Anki's frames record no content size (``anki-formats.md`` §1).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flipdeck.core.errors import InvalidInput
from flipdeck.formats import protobuf as pb
from flipdeck.formats.medianames import normalize_filename

LEGACY_1, LEGACY_2, LATEST = 1, 2, 3
_COLLECTION = {
    LATEST: "collection.anki21b",
    LEGACY_2: "collection.anki21",
    LEGACY_1: "collection.anki2",
}
_CHUNK = 1 << 20
GIB = 1 << 30


class PackageError(InvalidInput):
    """The file is not an Anki package flipdeck can read safely; nothing was imported."""


@dataclass(frozen=True)
class Limits:
    """How far a package may expand: in total (``ratio`` × its size, at least ``floor``, at
    most ``total``), per member, and in member count."""

    total: int = 2 * GIB
    ratio: int = 100
    floor: int = 256 << 20
    member: int = 2 * GIB
    members: int = 500_000

    def budget(self, file_size: int) -> int:
        """The total number of bytes a file of this size may expand to."""
        return min(self.total, max(self.floor, self.ratio * file_size))


@dataclass(frozen=True)
class MediaEntry:
    """One media file of a package: its name (sanitised) and where its bytes are."""

    name: str
    member: str
    zstd: bool
    sha1: bytes | None = None
    original: str = ""  # the name as the package spells it, when normalising changed it


class Package:
    """An open package. Use as a context manager; :meth:`extract_collection` first."""

    def __init__(self, path: Path | str, limits: Limits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or Limits()
        try:
            size = self.path.stat().st_size
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise PackageError(f"{self.path} does not exist") from None
        except IsADirectoryError:
            raise PackageError(f"{self.path} is a directory, not an Anki package") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            raise PackageError(
                f"{self.path.name} is not an Anki package: it is not a zip file"
                " (or the zip is truncated or damaged)",
                hint="Export it again from Anki (File › Export), then import the new file.",
            ) from None
        self._budget = self.limits.budget(size)
        self._used = 0
        infos = self._zip.infolist()
        if len(infos) > self.limits.members:
            self._bomb(f"it has {len(infos):,} members")
        self._members = {info.filename: info for info in infos}
        declared = sum(info.file_size for info in infos)
        if declared > self._budget or any(i.file_size > self.limits.member for i in infos):
            self._bomb(f"its members claim {declared:,} bytes")
        self.version = self._read_version()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the zip."""
        self._zip.close()

    # -- reading members, bounded ----------------------------------------------------------------

    def _bomb(self, why: str) -> None:
        raise PackageError(
            f"{self.path.name} expands too far to be a real Anki package ({why}; the limit is"
            f" {self._budget:,} bytes in all and {self.limits.member:,} per file)",
            hint="This looks like a zip bomb; nothing was imported.",
        )

    def _damaged(self, member: str, why: str = "") -> PackageError:
        return PackageError(
            f"{self.path.name} is damaged: member {member!r} cannot be read"
            + (f" ({why})" if why else "")
            + "; the file may be truncated",
            hint="Export it again from Anki, then import the new file; nothing was imported.",
        )

    def has(self, member: str) -> bool:
        """Whether the zip holds ``member``."""
        return member in self._members

    def chunks(self, member: str, *, zstd: bool = False) -> Iterator[bytes]:
        """The bytes of ``member`` (zstd-decoded when asked), in chunks, counted as they come."""
        info = self._members.get(member)
        if info is None:
            raise self._damaged(member, "missing")
        count = 0
        try:
            with self._zip.open(info) as raw:
                source = raw
                if zstd:
                    import zstandard

                    source = zstandard.ZstdDecompressor().stream_reader(
                        raw, read_across_frames=True
                    )
                while chunk := source.read(_CHUNK):
                    count += len(chunk)
                    self._used += len(chunk)
                    if count > self.limits.member:
                        self._bomb(f"{member!r} expands past {self.limits.member:,} bytes")
                    if self._used > self._budget:
                        self._bomb(f"{self._used:,} bytes and counting")
                    yield chunk
        except PackageError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
            raise self._damaged(member, str(error) or type(error).__name__) from None
        except Exception as error:  # zstandard.ZstdError has no stable import path
            if type(error).__name__ == "ZstdError":
                raise self._damaged(member, f"zstd: {error}") from None
            raise

    def read(self, member: str, *, zstd: bool = False) -> bytes:
        """The whole member (bounded like :meth:`chunks`)."""
        return b"".join(self.chunks(member, zstd=zstd))

    # -- what the package holds ------------------------------------------------------------------

    def _read_version(self) -> int:
        if self.has("meta"):
            try:
                version = pb.integer(pb.decode(self.read("meta")), 1)
            except pb.ProtobufError:
                raise self._damaged("meta", "not a PackageMetadata message") from None
            if version > LATEST:
                raise PackageError(
                    f"{self.path.name} was made by a newer Anki (package version {version})",
                    hint="Export it from Anki with 'Support older Anki versions' ticked.",
                )
            if version in _COLLECTION and self.has(_COLLECTION[version]):
                return version
        for version in (LATEST, LEGACY_2, LEGACY_1):
            if self.has(_COLLECTION[version]):
                return version
        raise PackageError(
            f"{self.path.name} is a zip file but not an Anki package (it holds no collection)",
            hint="Import an .apkg or .colpkg exported by Anki.",
        )

    @property
    def collection_member(self) -> str:
        """The member holding the real collection for this variant."""
        return _COLLECTION[self.version]

    def extract_collection(self, directory: Path) -> Path:
        """Write the collection's SQLite file into ``directory``; returns its path."""
        target = directory / "collection.sqlite"
        zstd = self.version == LATEST
        with open(target, "wb") as out:
            for chunk in self.chunks(self.collection_member, zstd=zstd):
                out.write(chunk)
        return target

    def media(self) -> list[MediaEntry]:
        """The package's media files in map order, names sanitised; unsafe names refused."""
        if not self.has("media"):
            return []  # some old AnkiDroid exports have no map at all
        if self.version == LATEST:
            return self._latest_media()
        return self._legacy_media()

    def _latest_media(self) -> list[MediaEntry]:
        try:
            entries = pb.decode(self.read("media", zstd=True)).get(1, [])
            out = []
            for index, raw in enumerate(entries):
                entry = pb.decode(raw)
                sha1 = pb.first(entry, 3, b"")
                if not isinstance(sha1, bytes) or len(sha1) != 20:
                    raise self._damaged("media", f"entry {index} has no 20-byte SHA-1")
                member = str(pb.integer(entry, 255, index)) if 255 in entry else str(index)
                raw_name = pb.text(entry, 1)
                clean = self._safe_name(raw_name)
                out.append(MediaEntry(clean, member, True, sha1, raw_name))
        except pb.ProtobufError as error:
            raise self._damaged("media", f"not a MediaEntries message: {error}") from None
        return out

    def _legacy_media(self) -> list[MediaEntry]:
        try:
            mapping = json.loads(self.read("media").decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            raise self._damaged("media", "the media map is not JSON") from None
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise self._damaged("media", "the media map is not a JSON object of names")
        return [
            MediaEntry(self._safe_name(name), str(m), False, None, name)
            for m, name in mapping.items()
        ]

    def _safe_name(self, name: str) -> str:
        if "/" in name or "\\" in name or name in ("", ".", "..") or os.sep in name:
            raise PackageError(
                f"{self.path.name} names a media file {name!r} with a path in it;"
                " refusing the package",
                hint="Media names must be plain file names. Nothing was imported.",
            )
        clean = normalize_filename(name)
        if not clean:
            raise PackageError(f"{self.path.name} has a media file with no usable name: {name!r}")
        return clean

    def media_bytes(self, entry: MediaEntry) -> bytes:
        """One media file's content, checked against the SHA-1 the map records."""
        data = self.read(entry.member, zstd=entry.zstd)
        if entry.sha1 is not None and hashlib.sha1(data).digest() != entry.sha1:
            raise self._damaged(entry.member, f"the content of {entry.name!r} fails its SHA-1")
        return data

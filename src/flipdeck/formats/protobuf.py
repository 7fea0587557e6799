"""Provides a tiny protobuf reader and writer for the few Anki messages packages carry.

Anki stores note-type, deck and preset settings, the package's ``meta`` and the media map as
protobuf messages (field numbers in ``anki-formats.md`` §1–2). Reading them needs no generated
code: :func:`decode` turns a message into ``{field number: [values]}`` (varints as ints, 32- and
64-bit values as raw bytes, length-delimited values as bytes), and the helpers below read the
shapes the importer needs. Malformed input raises :class:`ProtobufError`, never anything else.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

VARINT, I64, LEN, I32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ProtobufError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def decode(data: bytes) -> dict[int, list]:
    """The message's fields: ``{number: [value, ...]}`` in the order they appear."""
    out: dict[int, list] = {}
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        if wire == VARINT:
            value, pos = _varint(data, pos)
        elif wire == LEN:
            size, pos = _varint(data, pos)
            if pos + size > end:
                raise ProtobufError("length-delimited field runs past the end")
            value, pos = bytes(data[pos : pos + size]), pos + size
        elif wire in (I64, I32):
            size = 8 if wire == I64 else 4
            if pos + size > end:
                raise ProtobufError("fixed-width field runs past the end")
            value, pos = bytes(data[pos : pos + size]), pos + size
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def first(message: dict[int, list], number: int, default=None):
    """The last value of a singular field (protobuf's rule: the last one wins)."""
    values = message.get(number)
    return values[-1] if values else default


def integer(message: dict[int, list], number: int, default: int = 0) -> int:
    """A varint field as an int (``int64`` two's complement is folded back to negative)."""
    value = first(message, number)
    if value is None:
        return default
    if not isinstance(value, int):
        raise ProtobufError(f"field {number} is not a varint")
    return value - (1 << 64) if value >= 1 << 63 else value


def text(message: dict[int, list], number: int, default: str = "") -> str:
    """A string field."""
    value = first(message, number)
    if value is None:
        return default
    if not isinstance(value, bytes):
        raise ProtobufError(f"field {number} is not length-delimited")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError(f"field {number} is not UTF-8") from None


def message(msg: dict[int, list], number: int) -> dict[int, list]:
    """An embedded message field (empty when absent)."""
    value = first(msg, number)
    if value is None:
        return {}
    if not isinstance(value, bytes):
        raise ProtobufError(f"field {number} is not a message")
    return decode(value)


def floats(msg: dict[int, list], number: int) -> list[float]:
    """A ``repeated float`` field, packed or not."""
    out: list[float] = []
    for value in msg.get(number, ()):
        if not isinstance(value, bytes) or len(value) % 4:
            raise ProtobufError(f"field {number} is not a float list")
        out.extend(struct.unpack(f"<{len(value) // 4}f", value))
    return out


def single_float(msg: dict[int, list], number: int, default: float = 0.0) -> float:
    """A ``float`` field."""
    value = first(msg, number)
    if value is None:
        return default
    if not isinstance(value, bytes) or len(value) != 4:
        raise ProtobufError(f"field {number} is not a float")
    return struct.unpack("<f", value)[0]


# -- writing ----------------------------------------------------------------------------------


def encode_varint(value: int) -> bytes:
    """A varint (negative numbers as 64-bit two's complement, as ``int64`` does)."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_varint(number: int, value: int) -> bytes:
    """One varint field."""
    return encode_varint(number << 3 | VARINT) + encode_varint(value)


def field_bytes(number: int, value: bytes | str) -> bytes:
    """One length-delimited field (a string is written as UTF-8)."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return encode_varint(number << 3 | LEN) + encode_varint(len(raw)) + raw


def field_floats(number: int, values: Iterable[float]) -> bytes:
    """A packed ``repeated float`` field (nothing when empty)."""
    values = list(values)
    if not values:
        return b""
    return field_bytes(number, struct.pack(f"<{len(values)}f", *values))

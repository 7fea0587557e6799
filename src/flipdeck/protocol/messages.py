"""Provides the sync messages and a strict JSON codec for them.

A *change* is one record of a device's outbox: which row of which entity it sets, the fields it
sets (or, for a review event, the event), its id (so it is applied at most once) and its
hybrid-logical-clock stamp (so merges agree everywhere). The codec checks every member's type
and size and refuses unknown members, with a JSON Pointer to the first problem; the one thing it
does not refuse is an unknown *entity*: a newer client's change kinds are kept and relayed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple

from flipdeck.protocol import PROTOCOL_VERSION

MAX_CHANGES_PER_PUSH = 2000
COMPRESS_FROM = 4096
"""Sync bodies of at least this many bytes travel gzip-compressed where the other end takes it
(pull pages, push batches); smaller ones, an idle sync's among them, go as they are: for them
gzip's header and CPU cost more than they save."""
MAX_PULL_LIMIT = 5000
_STAMP = re.compile(r"^[0-9a-f]{32}$")
_ID = re.compile(r"^[0-9A-Za-z_.:-]{1,64}$")
_ENTITY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class ProtocolError(ValueError):
    """A message that does not follow the contract; ``pointer`` locates the problem."""

    def __init__(self, pointer: str, detail: str) -> None:
        super().__init__(f"{pointer or '/'}: {detail}")
        self.pointer = pointer
        self.detail = detail


class Change(NamedTuple):
    """One change from a device's outbox.

    A named tuple, as :class:`LoggedChange` is: a sync decodes tens of thousands of them, and
    building a frozen dataclass cost four times as much (it was a tenth of decoding a page).
    """

    id: str
    entity: str
    row: str
    hlc: str
    data: dict[str, Any]

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "entity": self.entity,
            "row": self.row,
            "hlc": self.hlc,
            "data": self.data,
        }


@dataclass(frozen=True)
class PushRequest:
    """``POST /v1/sync/push``: changes from one device, oldest first."""

    device: str
    changes: list[Change]
    protocol: int = PROTOCOL_VERSION


@dataclass(frozen=True)
class PushResponse:
    """How many changes were new, how many the server already had, and its log's head."""

    accepted: int
    duplicates: int
    cursor: int


class LoggedChange(NamedTuple):
    """A change as the server's log returns it: its position and the device it came from."""

    seq: int
    device: str
    change: Change


@dataclass(frozen=True)
class PullResponse:
    """``GET /v1/sync/pull``: changes after a cursor, the cursor to ask from next, and
    whether more remain."""

    changes: list[LoggedChange] = field(default_factory=list)
    cursor: int = 0
    more: bool = False


def _object(value: Any, pointer: str, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(value, dict):
        raise ProtocolError(pointer, "must be an object")
    for key in value:
        if key not in allowed:
            raise ProtocolError(f"{pointer}/{key}", "unknown member")
    for key in required:
        if key not in value:
            raise ProtocolError(f"{pointer}/{key}", "is required")
    return value


def _string(value: Any, pointer: str, pattern: re.Pattern) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ProtocolError(pointer, f"must match {pattern.pattern}")
    return value


def _int(value: Any, pointer: str, minimum: int = 0) -> int:
    if type(value) is not int or value < minimum:
        raise ProtocolError(pointer, f"must be an integer ≥ {minimum}")
    return value


encode_string = encode_basestring_ascii
"""A string as JSON (what ``json.dumps`` makes of it), called directly: it is most of the work
when a body is spliced together from thousands of stored changes."""

_CHANGE_KEYS = frozenset({"id", "entity", "row", "hlc", "data"})


def decode_change(value: Any, pointer: str) -> Change:
    """A change from its JSON form.

    The common case (a well-formed change) is checked in one expression; anything else goes
    through the member-by-member checks, which find the first problem and its pointer. Both
    accept exactly the same changes.
    """
    if type(value) is dict and value.keys() == _CHANGE_KEYS:
        id_, entity, row, hlc, data = (
            value["id"],
            value["entity"],
            value["row"],
            value["hlc"],
            value["data"],
        )
        if _well_formed(id_, entity, row, hlc, data):
            return Change(id_, entity, row, hlc, data)
    return _decode_change_checked(value, pointer)


def _well_formed(id_: Any, entity: Any, row: Any, hlc: Any, data: Any) -> bool:
    """Whether a change's members pass every check of :func:`_decode_change_checked`."""
    return bool(
        type(id_) is str
        and type(entity) is str
        and type(row) is str
        and type(hlc) is str
        and isinstance(data, dict)
        and _ID.match(id_)
        and _ENTITY.match(entity)
        and _ID.match(row)
        and _STAMP.match(hlc)
    )


def _decode_change_checked(value: Any, pointer: str) -> Change:
    keys = _CHANGE_KEYS
    obj = _object(value, pointer, keys, keys)
    data = obj["data"]
    if not isinstance(data, dict):
        raise ProtocolError(f"{pointer}/data", "must be an object")
    return Change(
        id=_string(obj["id"], f"{pointer}/id", _ID),
        entity=_string(obj["entity"], f"{pointer}/entity", _ENTITY),
        row=_string(obj["row"], f"{pointer}/row", _ID),
        hlc=_string(obj["hlc"], f"{pointer}/hlc", _STAMP),
        data=data,
    )


def _loads(raw: bytes | str | Any) -> Any:
    if isinstance(raw, (bytes, str)):
        try:
            return json.loads(raw)
        except ValueError as error:
            raise ProtocolError("", f"not JSON ({error})") from None
    return raw


def encode_push(request: PushRequest) -> bytes:
    """The JSON body of a push."""
    return encode_push_json(
        request.device,
        [(c.id, c.entity, c.row, c.hlc, _dumps_text(c.data)) for c in request.changes],
        request.protocol,
    )


def encode_push_json(
    device: str,
    changes: Iterable[tuple[str, str, str, str, str]],
    protocol: int = PROTOCOL_VERSION,
) -> bytes:
    """The JSON body of a push whose changes are ``(id, entity, row, hlc, data)`` with ``data``
    already JSON text (an object), as an outbox stores it: the text is spliced in as it is,
    which spares decoding and re-encoding every change of a batch."""
    dumps = encode_string
    items = ",".join(
        f'{{"id":{dumps(id_)},"entity":{dumps(entity)},"row":{dumps(row)},'
        f'"hlc":{dumps(hlc)},"data":{data}}}'
        for id_, entity, row, hlc, data in changes
    )
    return (f'{{"protocol":{int(protocol)},"device":{dumps(device)},"changes":[{items}]}}').encode()


def decode_push(raw: bytes | str | Any) -> PushRequest:
    """A push from its body (bytes or already-parsed JSON)."""
    keys = {"protocol", "device", "changes"}
    obj = _object(_loads(raw), "", keys, keys)
    protocol = _int(obj["protocol"], "/protocol", 1)
    if protocol > PROTOCOL_VERSION:
        raise ProtocolError("/protocol", f"version {protocol} is newer than {PROTOCOL_VERSION}")
    changes = obj["changes"]
    if not isinstance(changes, list):
        raise ProtocolError("/changes", "must be an array")
    if len(changes) > MAX_CHANGES_PER_PUSH:
        raise ProtocolError("/changes", f"at most {MAX_CHANGES_PER_PUSH} changes per push")
    return PushRequest(
        device=_string(obj["device"], "/device", _ID),
        changes=[decode_change(c, f"/changes/{i}") for i, c in enumerate(changes)],
        protocol=protocol,
    )


def encode_push_response(response: PushResponse) -> bytes:
    return _dumps(
        {
            "accepted": response.accepted,
            "duplicates": response.duplicates,
            "cursor": response.cursor,
        }
    )


def decode_push_response(raw: bytes | str | Any) -> PushResponse:
    keys = {"accepted", "duplicates", "cursor"}
    obj = _object(_loads(raw), "", keys, keys)
    return PushResponse(
        _int(obj["accepted"], "/accepted"),
        _int(obj["duplicates"], "/duplicates"),
        _int(obj["cursor"], "/cursor"),
    )


def encode_pull_response(response: PullResponse) -> bytes:
    return _dumps(
        {
            "changes": [
                {"seq": c.seq, "device": c.device, **c.change.to_json()} for c in response.changes
            ],
            "cursor": response.cursor,
            "more": response.more,
        }
    )


def decode_pull_response(raw: bytes | str | Any) -> PullResponse:
    keys = {"changes", "cursor", "more"}
    obj = _object(_loads(raw), "", keys, keys)
    items = obj["changes"]
    if not isinstance(items, list):
        raise ProtocolError("/changes", "must be an array")
    if not isinstance(obj["more"], bool):
        raise ProtocolError("/more", "must be a boolean")
    logged = []
    for i, item in enumerate(items):
        if type(item) is dict and item.keys() == _LOGGED_KEYS:
            seq, device = item["seq"], item["device"]
            id_, entity, row, hlc, data = (
                item["id"],
                item["entity"],
                item["row"],
                item["hlc"],
                item["data"],
            )
            if (
                type(seq) is int
                and seq >= 1
                and type(device) is str
                and _ID.match(device)
                and _well_formed(id_, entity, row, hlc, data)
            ):
                logged.append(LoggedChange(seq, device, Change(id_, entity, row, hlc, data)))
                continue
        pointer = f"/changes/{i}"  # not well-formed: find the first problem
        entry = _object(item, pointer, _LOGGED_KEYS, _LOGGED_KEYS)
        logged.append(
            LoggedChange(
                seq=_int(entry["seq"], f"{pointer}/seq", 1),
                device=_string(entry["device"], f"{pointer}/device", _ID),
                change=decode_change({k: entry[k] for k in _CHANGE_KEYS}, pointer),
            )
        )
    return PullResponse(logged, _int(obj["cursor"], "/cursor"), obj["more"])


_LOGGED_KEYS = _CHANGE_KEYS | {"seq", "device"}


def _dumps_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _dumps(value: Any) -> bytes:
    return _dumps_text(value).encode("utf-8")

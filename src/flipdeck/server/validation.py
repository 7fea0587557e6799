"""Provides request-body validation: declared fields, unknown ones refused, every problem
reported by JSON Pointer in one 422 (security.md rule 23)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from flipdeck.server.errors import ApiError

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")


@dataclass(frozen=True)
class Field:
    """One accepted member: a string unless ``kind`` says otherwise."""

    kind: str = "string"  # string | username | email | url | timezone | password | choice
    required: bool = True
    max_length: int = 256
    min_length: int = 0
    choices: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check(name: str, spec: Field, value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if spec.kind == "password":
        return None  # the password policy speaks for itself (only its hash is stored)
    if "\x00" in value:
        return "must not contain NUL characters"  # PostgreSQL text cannot store them
    if len(value) > spec.max_length:
        return f"must be at most {spec.max_length} characters"
    if len(value) < spec.min_length:
        return f"must be at least {spec.min_length} characters"
    if spec.kind == "username" and not _USERNAME.fullmatch(value):
        return "must be 3–32 letters, digits, '.', '_' or '-'"
    if spec.kind == "email" and not _EMAIL.fullmatch(value):
        return "must be an e-mail address"
    if spec.kind == "url" and value and not re.fullmatch(r"https?://[^\s]+", value):
        return "must be an http(s) URL"
    if spec.kind == "timezone" and value not in _time_zones():
        # a lookup in the known names, not ZoneInfo(value): that probes the filesystem with the
        # client's string and raises IsADirectoryError (a 500) for names such as "America"
        return "must be an IANA time zone such as Europe/Paris"
    if spec.kind == "choice" and value not in spec.choices:
        return f"must be one of {', '.join(spec.choices)}"
    return None


def parse(body: Any, fields: Mapping[str, Field], *, partial: bool = False) -> dict:
    """The validated members of a JSON object body; ``partial`` makes every field optional."""
    if not isinstance(body, dict):
        raise ApiError("validation_failed", errors=[{"pointer": "", "detail": "must be an object"}])
    errors = []
    for name in body:
        if name not in fields:
            errors.append({"pointer": f"/{_escape(name)}", "detail": "unknown field"})
    for name, spec in fields.items():
        if name not in body:
            if spec.required and not partial:
                errors.append({"pointer": f"/{_escape(name)}", "detail": "is required"})
            continue
        problem = _check(name, spec, body[name])
        if problem:
            errors.append({"pointer": f"/{_escape(name)}", "detail": problem})
    if errors:
        raise ApiError("validation_failed", errors=errors)
    return {name: body[name] for name in fields if name in body}


def _escape(name: str) -> str:
    """RFC 6901: ``~`` and ``/`` in a member name."""
    return str(name).replace("~", "~0").replace("/", "~1")

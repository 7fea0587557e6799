"""Provides structured logs: one JSON object per line, carrying the request's id, user and
device from a context variable (security.md rules 33–34).

Untrusted values are JSON-escaped, so a CR/LF in a header can never forge a line; secrets
(passwords, tokens, the Authorization header) are never passed to the logger.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time

request_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "flipdeck_request", default=None
)
_FIELDS = (
    "event",
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "client_ip",
    "login",
    "user",
    "family_id",
    "reason",
)


_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b(secret|password|passwd|pwd|token|api[_-]?key|authorization|cookie)"
    r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&)]+)"
)
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")


def scrub(text: str) -> str:
    """``text`` with what looks like a secret replaced: ``secret=…``-style assignments, bearer
    credentials and JWTs (exception messages and tracebacks can carry them, rule 25)."""
    text = _JWT.sub("[redacted-jwt]", text)
    text = _BEARER.sub("Bearer [redacted]", text)
    return _SECRET_ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": getattr(record, "event", None) or "log",
            "message": scrub(record.getMessage()),
        }
        context = request_context.get() or {}
        for key in ("request_id", "user_id", "device_id"):
            entry[key] = context.get(key)
        for key in _FIELDS:
            if key != "event" and hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=True, default=str)


def configure(level: str, stream=None) -> None:
    """Send flipdeck's server logs, as JSON lines, to ``stream`` (stderr by default).

    The record attributes these lines never use (caller, thread, process) are not collected:
    the logging HOWTO's "Optimization" switches, worth ~20 µs on every access-log line.
    """
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logger = logging.getLogger("flipdeck.server")
    for handler in list(logger.handlers):
        if getattr(handler, "_flipdeck", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._flipdeck = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def event(name: str, level: int = logging.INFO, message: str = "", **fields) -> None:
    """Log a named event (``login_failed``, ``refresh_rotated`` …) with extra fields."""
    logging.getLogger("flipdeck.server").log(
        level, message or name, extra={"event": name, **fields}
    )

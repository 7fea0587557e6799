"""Provides structured logs: one JSON object per line, carrying the request's id, user and
device from a context variable (security.md rules 33–34).

Untrusted values are JSON-escaped, so a CR/LF in a header can never forge a line; secrets
(passwords, tokens, the Authorization header) are never passed to the logger.
"""

from __future__ import annotations

import contextvars
import json
import logging
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


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": getattr(record, "event", None) or "log",
            "message": record.getMessage(),
        }
        context = request_context.get() or {}
        for key in ("request_id", "user_id", "device_id"):
            entry[key] = context.get(key)
        for key in _FIELDS:
            if key != "event" and hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=True, default=str)


def configure(level: str, stream=None) -> None:
    """Send flipdeck's server logs, as JSON lines, to ``stream`` (stderr by default)."""
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

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
_FIELDS = (  # record attributes a line carries, after ts, level, event, message and context
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


def _line(created: float, level: str, event: str, message: str, fields) -> dict:
    """The JSON object of one line: time, level, event, message, the request's context, and
    whichever of ``_FIELDS`` the mapping ``fields`` holds, always in that order."""
    context = request_context.get() or _NO_CONTEXT
    entry = {
        "ts": _timestamp(created),
        "level": level,
        "event": event,
        # a message that is just the event's name (every access-log and auth-event line) is
        # ours; anything else may carry text from an exception and is scrubbed
        "message": message if message == event else scrub(message),
        "request_id": context.get("request_id"),
        "user_id": context.get("user_id"),
        "device_id": context.get("device_id"),
    }
    for key in _FIELDS:
        if key in fields:
            entry[key] = fields[key]
    return entry


_NO_CONTEXT: dict = {}
_ENCODER = json.JSONEncoder(ensure_ascii=True, default=str)  # json.dumps(default=…) would
# build a new encoder for every line
_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text


def _timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds; the seconds part is formatted once per second."""
    global _second
    second, text = _second
    if int(created) != second:
        second = int(created)
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second = (second, text)
    return f"{text}.{int(created * 1000) % 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        attributes = record.__dict__
        entry = _line(
            record.created,
            record.levelname.lower(),
            attributes.get("event") or "log",
            record.getMessage(),
            attributes,
        )
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return _ENCODER.encode(entry)


class JsonLines(logging.StreamHandler):
    """The handler :func:`configure` installs: JSON lines on a stream, and a way to write a line
    without a ``LogRecord`` (:func:`access`)."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self.setFormatter(JsonFormatter())

    def write(self, entry: dict) -> None:
        line = _ENCODER.encode(entry) + self.terminator
        try:
            with self.lock:
                self.stream.write(line)
                self.stream.flush()
        except Exception:  # as in emit(): a broken log stream never fails the request
            self.handleError(logging.makeLogRecord({"msg": entry.get("event")}))


def configure(level: str, stream=None) -> None:
    """Send flipdeck's server logs, as JSON lines, to ``stream`` (stderr by default).

    The record attributes these lines never use (caller, thread, process) are not collected:
    the logging HOWTO's "Optimization" switches, worth ~20 µs on every access-log line.
    """
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logger = _LOGGER
    for handler in list(logger.handlers):
        if isinstance(handler, JsonLines):
            logger.removeHandler(handler)
    logger.addHandler(JsonLines(stream or sys.stderr))
    logger.setLevel(level)
    logger.propagate = False


_LOGGER = logging.getLogger("flipdeck.server")


def access(fields: dict) -> None:
    """The access-log line of a request (``fields``: method, route, status, duration_ms,
    client_ip).

    Every request writes one, so when the logger has just the handler :func:`configure` put
    there it is written to it directly: building and dispatching a ``LogRecord`` cost a tenth
    of an authenticated request. Any other set-up (more handlers, filters) gets a record.
    """
    logger = _LOGGER
    if not logger.isEnabledFor(logging.INFO):
        return
    handlers = logger.handlers
    if (
        len(handlers) == 1
        and type(handlers[0]) is JsonLines
        and not (handlers[0].filters or logger.filters)
        and handlers[0].level <= logging.INFO
    ):
        handlers[0].write(_line(time.time(), "info", "request", "request", fields))
    else:
        logger.info("request", extra={"event": "request", **fields})


def event(name: str, level: int = logging.INFO, message: str = "", **fields) -> None:
    """Log a named event (``login_failed``, ``refresh_rotated`` …) with extra fields."""
    _LOGGER.log(level, message or name, extra={"event": name, **fields})

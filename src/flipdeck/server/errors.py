"""Provides the server's one error vocabulary and the one place errors become HTTP.

Services raise :class:`ApiError` with a code from ``flipdeck.protocol.errors``; Falcon's own
errors (404, 405, 413 …) and anything unexpected are caught by the handlers installed here and
written as RFC 9457 ``application/problem+json`` with a stable ``code`` and the request id. An
unexpected exception is logged with its traceback and answered with a generic 500: no stack
trace, SQL or secret ever reaches a client.
"""

from __future__ import annotations

import json
import logging

import falcon

from flipdeck.protocol.errors import BY_STATUS, ERRORS, ErrorCode

log = logging.getLogger("flipdeck.server")

PROBLEM_JSON = "application/problem+json"


class ApiError(Exception):
    """An error to answer with: ``code`` names the entry of the protocol's table."""

    def __init__(
        self,
        code: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict] | None = None,
    ) -> None:
        super().__init__(detail or code)
        self.error: ErrorCode = ERRORS[code]
        self.detail = detail or self.error.title
        self.headers = headers or {}
        self.errors = errors


def validation(pointer: str, detail: str) -> ApiError:
    """A 422 naming one offending member by JSON Pointer."""
    return ApiError(
        "validation_failed",
        "The request is not valid.",
        errors=[{"pointer": pointer, "detail": detail}],
    )


def problem(req, error: ErrorCode, detail: str, errors: list[dict] | None = None) -> dict:
    """The problem document for an error."""
    body = {
        "type": error.type_uri,
        "title": error.title,
        "status": error.status,
        "detail": detail,
        "code": error.code,
        "request_id": getattr(req.context, "request_id", None) or "",
    }
    if errors:
        body["errors"] = errors
    return body


def _write(req, resp, error: ErrorCode, detail: str, *, errors=None, headers=None) -> None:
    resp.status = error.status
    resp.content_type = PROBLEM_JSON
    resp.text = json.dumps(problem(req, error, detail, errors))
    for name, value in (headers or {}).items():
        resp.set_header(name, value)


def handle_api_error(req, resp, ex: ApiError, params) -> None:
    _write(req, resp, ex.error, ex.detail, errors=ex.errors, headers=ex.headers)


def handle_http_error(req, resp, ex: falcon.HTTPError, params) -> None:
    """Falcon's own errors (no route, wrong method, …) as problems."""
    status = ex.status_code
    code = getattr(ex, "code", None)
    error = ERRORS.get(code) if isinstance(code, str) else None
    error = error or BY_STATUS.get(status) or ErrorCode("http_error", status, ex.title or "")
    _write(req, resp, error, ex.description or error.title, headers=dict(ex.headers or {}))


def handle_database_error(req, resp, ex: Exception, params) -> None:
    log.warning("database unavailable: %s: %s", type(ex).__name__, ex, extra={"event": "db_error"})
    _write(
        req,
        resp,
        ERRORS["database_unavailable"],
        "The database cannot be reached right now; retry shortly.",
        headers={"Retry-After": "5"},
    )


def handle_unexpected(req, resp, ex: Exception, params) -> None:
    """Anything else: logged with its traceback, answered with a generic 500."""
    if isinstance(ex, falcon.HTTPError):
        handle_http_error(req, resp, ex, params)
        return
    log.error("unhandled error", exc_info=ex, extra={"event": "internal_error"})
    _write(req, resp, ERRORS["internal_error"], "Something went wrong on our side.")


def serialize_http_error(req, resp, ex: falcon.HTTPError) -> None:
    """Falcon's own serializer, should it ever run (the handlers below answer every error
    first): the same problem document, never Falcon's default JSON."""
    code = getattr(ex, "code", None)
    error = ERRORS.get(code) if isinstance(code, str) else None
    error = error or BY_STATUS.get(ex.status_code) or ErrorCode("http_error", ex.status_code, "")
    resp.content_type = PROBLEM_JSON
    resp.text = json.dumps(problem(req, error, ex.description or error.title))


def install(app: falcon.App) -> None:
    """Register the handlers, most general first (Falcon picks the most specific)."""
    from flipdeck.server.db import UNAVAILABLE

    app.set_error_serializer(serialize_http_error)
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
    for kind in UNAVAILABLE:
        app.add_error_handler(kind, handle_database_error)
    app.add_error_handler(ApiError, handle_api_error)

"""Provides the stable error codes both ends speak, each with its HTTP status and title.

A code is never changed once released: clients branch on it. Server errors are RFC 9457
``application/problem+json`` bodies carrying one of these in ``code``.
"""

from __future__ import annotations

from dataclasses import dataclass

PROBLEM_TYPE_BASE = "https://flipdeck.dev/problems/"


@dataclass(frozen=True)
class ErrorCode:
    """One entry of the error table."""

    code: str
    status: int
    title: str

    @property
    def type_uri(self) -> str:
        """The problem ``type`` URI for this code."""
        return PROBLEM_TYPE_BASE + self.code.replace("_", "-")


_TABLE = [
    ErrorCode("invalid_request", 400, "Malformed request"),
    ErrorCode("malformed_json", 400, "The body is not valid JSON"),
    ErrorCode("idempotency_key_missing", 400, "An Idempotency-Key header is required"),
    ErrorCode("protocol_mismatch", 400, "The client speaks a newer sync protocol"),
    ErrorCode("authentication_required", 401, "Authentication required"),
    ErrorCode("invalid_token", 401, "The access token is invalid or expired"),
    ErrorCode("invalid_refresh_token", 401, "The refresh token is invalid, expired or revoked"),
    ErrorCode("invalid_credentials", 401, "Wrong login or password"),
    ErrorCode("forbidden", 403, "Not allowed"),
    ErrorCode("wrong_password", 403, "The current password is wrong"),
    ErrorCode("not_found", 404, "Not found"),
    ErrorCode("method_not_allowed", 405, "Method not allowed"),
    ErrorCode("conflict", 409, "Conflict"),
    ErrorCode("username_taken", 409, "That username is taken"),
    ErrorCode("email_taken", 409, "That e-mail address is already registered"),
    ErrorCode("idempotency_key_in_use", 409, "A request with this key is still running"),
    ErrorCode("payload_too_large", 413, "The body is too large"),
    ErrorCode("unsupported_media_type", 415, "The body must be application/json"),
    ErrorCode("validation_failed", 422, "The request is not valid"),
    ErrorCode("idempotency_key_reused", 422, "This key was used with a different body"),
    ErrorCode("rate_limited", 429, "Too many requests"),
    ErrorCode("login_locked", 429, "Too many failed logins; try again later"),
    ErrorCode("internal_error", 500, "Internal error"),
    ErrorCode("database_unavailable", 503, "The database is unavailable"),
    ErrorCode("server_busy", 503, "The server is busy"),
    ErrorCode("service_unavailable", 503, "A service the server depends on is unavailable"),
]

ERRORS: dict[str, ErrorCode] = {e.code: e for e in _TABLE}
BY_STATUS: dict[int, ErrorCode] = {}
for _e in _TABLE:
    BY_STATUS.setdefault(_e.status, _e)


def error(code: str) -> ErrorCode:
    """The table entry for ``code`` (a programming error if unknown)."""
    return ERRORS[code]

"""Provides the OpenAPI 3.1 document of the API, built once per app and served at
``/openapi.json``; ``flipdeck-server openapi`` prints it, and schemathesis checks the server
against it in the test suite."""

from __future__ import annotations

from flipdeck import __version__
from flipdeck.protocol.errors import ERRORS
from flipdeck.server.models import ROLES
from flipdeck.server.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE

_TIME = {"type": "string", "format": "date-time"}
_ID = {"type": "string", "format": "uuid"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict, required: list[str] | None = None) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def _page(item: str) -> dict:
    return _object(
        {
            "count": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"]},
            "previous": {"type": ["string", "null"]},
            "results": {"type": "array", "items": _ref(item)},
        }
    )


SCHEMAS = {
    "Problem": {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "code": {"type": "string", "enum": sorted(ERRORS)},
            "request_id": {"type": "string"},
            "errors": {
                "type": "array",
                "items": _object({"pointer": {"type": "string"}, "detail": {"type": "string"}}),
            },
        },
        "required": ["type", "title", "status", "detail", "code", "request_id"],
        "additionalProperties": False,
    },
    "User": _object(
        {
            "id": _ID,
            "username": {"type": "string"},
            "email": {"type": "string"},
            "role": {"type": "string", "enum": list(ROLES)},
            "display_name": {"type": "string"},
            "bio": {"type": "string"},
            "avatar_url": {"type": "string"},
            "timezone": {"type": "string"},
            "created_at": _TIME,
        }
    ),
    "TokenPair": _object(
        {
            "access": {"type": "string"},
            "refresh": {"type": "string"},
            "token_type": {"type": "string", "const": "Bearer"},
            "expires_in": {"type": "integer", "minimum": 1},
            "user": _ref("User"),
        }
    ),
    "Device": _object(
        {
            "id": _ID,
            "name": {"type": "string"},
            "user_agent": {"type": "string"},
            "created_at": _TIME,
            "last_used_at": _TIME,
            "expires_at": _TIME,
            "current": {"type": "boolean"},
        }
    ),
    "DevicePage": _page("Device"),
    "UserPage": _page("User"),
    "Status": _object({"status": {"type": "string"}}),
    "RegisterRequest": _object(
        {
            "username": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{3,32}$"},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "password": {"type": "string", "minLength": 12, "maxLength": 1024},
            "device_name": {"type": "string", "maxLength": 100},
        },
        ["username", "email", "password"],
    ),
    "LoginRequest": _object(
        {
            "username": {"type": "string", "maxLength": 254},
            "email": {"type": "string", "maxLength": 254},
            "password": {"type": "string", "maxLength": 1024},
            "device_name": {"type": "string", "maxLength": 100},
        },
        ["password"],
    ),
    "RefreshRequest": _object({"refresh": {"type": "string", "maxLength": 512}}),
    "ProfileUpdate": _object(
        {
            "display_name": {"type": "string", "maxLength": 100},
            "bio": {"type": "string", "maxLength": 2000},
            "avatar_url": {"type": "string", "maxLength": 2048},
            "timezone": {"type": "string", "maxLength": 64},
        },
        [],
    ),
    "PasswordChange": _object(
        {
            "current_password": {"type": "string", "maxLength": 1024},
            "new_password": {"type": "string", "minLength": 12, "maxLength": 1024},
        }
    ),
    "RoleChange": _object({"role": {"type": "string", "enum": list(ROLES)}}),
    "Change": _object(
        {
            "id": {"type": "string", "pattern": "^[0-9A-Za-z_.:-]{1,64}$"},
            "entity": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$"},
            "row": {"type": "string", "pattern": "^[0-9A-Za-z_.:-]{1,64}$"},
            "hlc": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "data": {"type": "object"},
        }
    ),
    "PushRequest": _object(
        {
            "protocol": {"type": "integer", "minimum": 1, "maximum": 1},
            "device": {"type": "string", "pattern": "^[0-9A-Za-z_.:-]{1,64}$"},
            "changes": {"type": "array", "maxItems": 2000, "items": _ref("Change")},
        }
    ),
    "PushResponse": _object(
        {
            "accepted": {"type": "integer", "minimum": 0},
            "duplicates": {"type": "integer", "minimum": 0},
            "cursor": {"type": "integer", "minimum": 0},
        }
    ),
    "PullResponse": _object(
        {
            "changes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "seq": {"type": "integer", "minimum": 1},
                        "device": {"type": "string"},
                        "id": {"type": "string"},
                        "entity": {"type": "string"},
                        "row": {"type": "string"},
                        "hlc": {"type": "string"},
                        "data": {"type": "object"},
                    },
                    "required": ["seq", "device", "id", "entity", "row", "hlc", "data"],
                    "additionalProperties": False,
                },
            },
            "cursor": {"type": "integer", "minimum": 0},
            "more": {"type": "boolean"},
        }
    ),
}

_PROBLEM = {"application/problem+json": {"schema": _ref("Problem")}}

HEADERS = {
    "X-Request-ID": {
        "description": "The request's id (a sane inbound one is echoed); it is in every log line",
        "required": True,
        "schema": {"type": "string", "minLength": 8, "maxLength": 64},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "WWW-Authenticate": {
        "description": 'The Bearer challenge (RFC 6750), e.g. Bearer realm="flipdeck"',
        "required": True,
        "schema": {"type": "string", "pattern": "^Bearer "},
    },
}


def _header(name: str) -> dict:
    return {"$ref": f"#/components/headers/{name}"}


def _headers(code: int, challenge: bool) -> dict:
    """The headers a response with this status always carries."""
    names = ["X-Request-ID"]
    if code in (429, 503):
        names.append("Retry-After")
    if code == 401 and challenge:
        names.append("WWW-Authenticate")
    return {name: _header(name) for name in names}


def _responses(ok: dict, *codes: int, challenge: bool = True) -> dict:
    """``ok`` plus problem responses for ``codes`` and those any route may give.

    There is deliberately no ``default`` response: every status an operation can answer with
    is listed, so the schemathesis run fails on any status the document does not name.
    ``challenge``: every 401 of this operation carries ``WWW-Authenticate``.
    """
    out = {
        status: {**spec, "headers": _headers(int(status), challenge)} for status, spec in ok.items()
    }
    for code in (*codes, 429, 500, 503):
        out[str(code)] = {
            "description": _describe(code),
            "headers": _headers(code, challenge),
            "content": _PROBLEM,
        }
    return out


def _describe(code: int) -> str:
    return {
        400: "Malformed request or JSON",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        415: "Body is not application/json",
        422: "Invalid body or query",
        429: "Too many requests (see Retry-After)",
        500: "Internal error",
        503: "Database unavailable or server busy (see Retry-After)",
    }[code]


def _json(schema: str, description: str, status: str = "200") -> dict:
    return {
        status: {
            "description": description,
            "content": {"application/json": {"schema": _ref(schema)}},
        }
    }


def _body(schema: str, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": _ref(schema)}}}


_NO_CONTENT = {"204": {"description": "Done"}}
_BEARER = [{"bearer": []}]
_WRITE = (400, 413, 415, 422)
_LIST_PARAMS = [
    {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    },
    {
        "name": "page_size",
        "in": "query",
        "description": "Rows per page; more than 100 is served as 100",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_PAGE,
            "default": DEFAULT_PAGE_SIZE,
        },
    },
]


def _op(
    summary: str,
    responses: dict,
    *,
    body: dict | None = None,
    secure: bool = True,
    params: list | None = None,
    tag: str = "accounts",
) -> dict:
    op = {"summary": summary, "tags": [tag], "responses": responses}
    if body is not None:
        op["requestBody"] = body
    if secure:
        op["security"] = _BEARER
    if params:
        op["parameters"] = params
    return op


def document() -> dict:
    """The whole OpenAPI 3.1 document."""
    paths = {
        "/v1/auth/register": {
            "post": _op(
                "Create an account and sign in",
                _responses(_json("TokenPair", "Signed in", "201"), *_WRITE, 409),
                body=_body("RegisterRequest"),
                secure=False,
            )
        },
        "/v1/auth/login": {
            "post": _op(
                "Sign in with username or email, and password",
                _responses(_json("TokenPair", "Signed in"), *_WRITE, 401),
                body=_body("LoginRequest"),
                secure=False,
            )
        },
        "/v1/auth/refresh": {
            "post": _op(
                "Rotate a refresh token",
                _responses(_json("TokenPair", "New pair"), *_WRITE, 401),
                body=_body("RefreshRequest"),
                secure=False,
            )
        },
        "/v1/auth/logout": {
            "post": _op("Sign this device out", _responses(_NO_CONTENT, *_WRITE, 401))
        },
        "/v1/auth/logout-all": {
            "post": _op("Sign every device out", _responses(_NO_CONTENT, *_WRITE, 401))
        },
        "/v1/me": {
            "get": _op("Your profile", _responses(_json("User", "Profile"), 400, 401)),
            "patch": _op(
                "Change your profile",
                _responses(_json("User", "Profile"), *_WRITE, 401),
                body=_body("ProfileUpdate"),
            ),
        },
        "/v1/me/password": {
            "post": _op(
                "Change your password (other devices are signed out)",
                _responses(_json("TokenPair", "New pair for this device"), *_WRITE, 401, 403),
                body=_body("PasswordChange"),
            )
        },
        "/v1/me/devices": {
            "get": _op(
                "Where you are signed in",
                _responses(_json("DevicePage", "Devices"), 400, 401, 422),
                params=[
                    *_LIST_PARAMS,
                    {
                        "name": "ordering",
                        "in": "query",
                        "schema": {
                            "type": "string",
                            "enum": ["created_at", "-created_at", "last_used_at", "-last_used_at"],
                        },
                    },
                ],
            )
        },
        "/v1/me/devices/{device_id}": {
            "delete": _op(
                "Sign one device out",
                _responses(_NO_CONTENT, 400, 401, 404),
                params=[
                    {
                        "name": "device_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
            )
        },
        "/v1/users": {
            "get": _op(
                "Users (admin)",
                _responses(_json("UserPage", "Users"), 400, 401, 403, 422),
                params=[
                    *_LIST_PARAMS,
                    {
                        "name": "ordering",
                        "in": "query",
                        "schema": {
                            "type": "string",
                            "enum": [
                                f"{sign}{f}"
                                for f in ("username", "created_at", "role")
                                for sign in ("", "-")
                            ],
                        },
                    },
                    {
                        "name": "role",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(ROLES)},
                    },
                    {"name": "search", "in": "query", "schema": {"type": "string"}},
                ],
            )
        },
        "/v1/users/{user_id}": {
            "get": _op(
                "One user (admin)",
                _responses(_json("User", "User"), 400, 401, 403, 404),
                params=[_user_id()],
            ),
            "patch": _op(
                "Change a user's role (admin)",
                _responses(_json("User", "User"), *_WRITE, 401, 403, 404),
                body=_body("RoleChange"),
                params=[_user_id()],
            ),
        },
        "/v1/sync/push": {
            "post": _op(
                "Append this device's changes to your sync log (each change at most once)",
                _responses(_json("PushResponse", "Stored"), *_WRITE, 401, 409),
                body=_body("PushRequest"),
                params=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
                    }
                ],
                tag="sync",
            )
        },
        "/v1/sync/pull": {
            "get": _op(
                "Changes after a position of your sync log (your device's own left out)",
                _responses(_json("PullResponse", "A page"), 400, 401, 422),
                params=[
                    {
                        "name": "after",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2**62},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 5000},
                    },
                    {
                        "name": "device",
                        "in": "query",
                        "schema": {"type": "string", "pattern": "^[0-9A-Za-z_.:-]{1,64}$"},
                    },
                ],
                tag="sync",
            )
        },
        "/health": {
            "get": _op(
                "The process is alive",
                {
                    status: {**spec, "headers": _headers(200, False)}
                    for status, spec in _json("Status", "Alive").items()
                },
                secure=False,
                tag="operations",
            )
        },
        "/ready": {
            "get": _op(
                "The database answers",
                _responses(_json("Status", "Ready")),
                secure=False,
                tag="operations",
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "flipdeck-server",
            "version": __version__,
            "description": "Accounts and device sign-ins for flipdeck. Errors are RFC 9457 "
            "problem documents with a stable `code`.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "headers": HEADERS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _user_id() -> dict:
    return {"name": "user_id", "in": "path", "required": True, "schema": {"type": "string"}}

"""Provides the request pipeline, one concern per class, in the order `create_app` installs
them: request id, timing and access log; body limits, JSON-only and parsing; authentication;
rate limits. Resources declare what they need with class attributes:

* ``auth``: ``"required"`` (default), ``"optional"`` or ``None`` (public);
* ``rate``: ``"auth"`` for sign-in endpoints (20/min per IP), ``None`` to exempt probes;
* ``max_body``: a larger body limit (sync push).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import time

from flipdeck.core.ids import uuid7
from flipdeck.server import logs
from flipdeck.server.config import Config
from flipdeck.server.errors import ApiError

log = logging.getLogger("flipdeck.server")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_JSON = re.compile(r"^application/json\s*(;\s*charset\s*=\s*\"?utf-8\"?\s*)?$", re.IGNORECASE)
_MAX_DEPTH = 64


class RequestContext:
    """Request id (a sane inbound one is kept), ``X-Response-Time`` and the access log line."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def process_request(self, req, resp) -> None:
        inbound = req.get_header("X-Request-ID") or ""
        req.context.request_id = inbound if _REQUEST_ID.match(inbound) else uuid7()
        req.context.started = time.perf_counter()
        req.context.client_ip = client_ip(req, self.config)
        req.context.user = None
        req.context.family = None
        req.context.token = logs.request_context.set({"request_id": req.context.request_id})

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        elapsed = (time.perf_counter() - req.context.started) * 1000
        resp.set_header("X-Request-ID", req.context.request_id)
        resp.set_header("X-Response-Time", f"{elapsed:.2f}ms")
        route = getattr(req, "uri_template", None) or "(unmatched)"
        log.info(
            "request",
            extra={
                "event": "request",
                "method": req.method,
                "route": route,
                "status": int(resp.status_code if hasattr(resp, "status_code") else 0),
                "duration_ms": round(elapsed, 2),
                "client_ip": req.context.client_ip,
            },
        )
        token = getattr(req.context, "token", None)
        if token is not None:
            logs.request_context.reset(token)


def client_ip(req, config: Config) -> str:
    """The TCP peer, unless it is a trusted proxy: then the right-most untrusted
    ``X-Forwarded-For`` entry (never the left-most, which the client controls)."""
    peer = req.remote_addr or ""
    if not config.trusted_proxies or not _trusted(peer, config):
        return peer
    forwarded = [p.strip() for p in (req.get_header("X-Forwarded-For") or "").split(",")]
    for candidate in reversed([p for p in forwarded if p]):
        if not _trusted(candidate, config):
            return candidate
    return peer


def _trusted(address: str, config: Config) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in config.trusted_proxies)


class JsonBody:
    """Body limits (413 before reading), JSON-only writes (415), strict JSON parsing (400).

    The parsed body is ``req.context.json`` (``None`` when the request has no body).
    """

    def __init__(self, config: Config) -> None:
        self.config = config

    def process_resource(self, req, resp, resource, params) -> None:
        req.context.json = None
        if req.method not in ("POST", "PUT", "PATCH"):
            return
        limit = getattr(resource, "max_body", None) or self.config.max_body
        length = req.content_length
        if length is not None and length > limit:
            raise ApiError("payload_too_large", f"The body may be at most {limit} bytes.")
        chunked = "chunked" in (req.get_header("Transfer-Encoding") or "").lower()
        if not length and not chunked:
            return
        if not _JSON.match(req.content_type or ""):
            raise ApiError("unsupported_media_type", "Send the body as application/json (UTF-8).")
        raw = req.bounded_stream.read(limit + 1)
        if len(raw) > limit:
            raise ApiError("payload_too_large", f"The body may be at most {limit} bytes.")
        req.context.json = parse_json(raw)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes):
    """Strict JSON: UTF-8, no NaN/Infinity, bounded nesting; else 400 ``malformed_json``."""
    try:
        text = raw.decode("utf-8")
        if _depth(text) > _MAX_DEPTH:
            raise ValueError("nested too deeply")
        return json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        detail = (
            "The body is not UTF-8."
            if isinstance(error, UnicodeDecodeError)
            else (
                f"The body is not valid JSON ({error})."
                if "nested" in str(error)
                else "The body is not valid JSON."
            )
        )
        raise ApiError("malformed_json", detail) from None


def _depth(text: str) -> int:
    """The deepest bracket nesting, counted without parsing (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


class Authentication:
    """Bearer access tokens (security.md rules 4–5), checked against the database on every
    request: the user (role, disabled, token version) and the device's family in one query."""

    def __init__(self, config: Config, issuer) -> None:
        self.config = config
        self.issuer = issuer

    def process_resource(self, req, resp, resource, params) -> None:
        mode = getattr(resource, "auth", "required")
        if resource is None or mode is None or req.method == "OPTIONS":
            return
        header = req.get_header("Authorization")
        if header is None:
            if mode == "optional":
                return
            raise ApiError(
                "authentication_required",
                "Send an access token: Authorization: Bearer <token>.",
                headers={"WWW-Authenticate": 'Bearer realm="flipdeck"'},
            )
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
            raise ApiError(
                "invalid_request",
                "The Authorization header must be 'Bearer <token>'.",
                headers={"WWW-Authenticate": 'Bearer realm="flipdeck", error="invalid_request"'},
            )
        from flipdeck.server.services import accounts

        user, family = accounts.authenticate(self.issuer, token.strip(), self.config)
        req.context.user = user
        req.context.family = family
        logs.request_context.set(
            {**(logs.request_context.get() or {}), "user_id": user.id, "device_id": family.id}
        )


class RateLimits:
    """Per-IP budgets for anonymous requests, per-user budgets for signed-in ones, and a
    tighter per-IP budget for the sign-in endpoints; 429 with ``Retry-After`` when spent."""

    def __init__(self, config: Config, counter) -> None:
        self.config = config
        self.counter = counter

    def process_resource(self, req, resp, resource, params) -> None:
        kind = getattr(resource, "rate", "default")
        if resource is None or kind is None or req.method == "OPTIONS":
            return
        limits = self.config.limits
        now = self.config.clock()
        checks = []
        if kind == "auth":
            checks.append((f"auth:{req.context.client_ip}", 60, limits.auth_per_minute))
        if req.context.user is not None:
            checks.append((f"user:{req.context.user.id}", 3600, limits.user_per_hour))
        else:
            checks.append((f"ip:{req.context.client_ip}", 3600, limits.anonymous_per_hour))
        for key, window, limit in checks:
            hit = self.counter.hit(key, window, now)
            if hit.count > limit:
                retry = max(1, int(hit.resets_at - now))
                logs.event("rate_limited", logging.WARNING, reason=key.split(":")[0])
                raise ApiError(
                    "rate_limited",
                    f"Too many requests; retry in {retry} s.",
                    headers={"Retry-After": str(retry)},
                )

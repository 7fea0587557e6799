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
import zlib

from flipdeck.core.ids import uuid7
from flipdeck.server import logs
from flipdeck.server.config import Config
from flipdeck.server.errors import ApiError
from flipdeck.server.ratelimit import address_key
from flipdeck.server.services import accounts

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
        logs.access(
            {
                "method": req.method,
                "route": route,
                "status": int(resp.status_code if hasattr(resp, "status_code") else 0),
                "duration_ms": round(elapsed, 2),
                "client_ip": req.context.client_ip,
            }
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

    Two steps, so that nothing is read for a caller who may not send it: the headers are
    checked first (:meth:`check`, installed before authentication), the body is read and
    parsed last (:meth:`process_resource`, after authentication and rate limits). The parsed
    body is ``req.context.json`` (``None`` when the request has no body, or when it is JSON
    ``null``: ``req.context.has_body`` tells them apart).
    """

    def __init__(self, config: Config) -> None:
        self.config = config

    def _declared(self, req, resource) -> tuple[int, int | None, bool] | None:
        """``(limit, length, chunked)`` for a write that carries a body, else ``None``."""
        if req.method not in ("POST", "PUT", "PATCH"):
            return None
        limit = getattr(resource, "max_body", None) or self.config.max_body
        length = req.content_length
        chunked = "chunked" in (req.get_header("Transfer-Encoding") or "").lower()
        if length is not None and length > limit:
            raise ApiError("payload_too_large", f"The body may be at most {limit} bytes.")
        if not length and not chunked:
            return None
        if not _JSON.match(req.content_type or ""):
            raise ApiError("unsupported_media_type", "Send the body as application/json (UTF-8).")
        if (req.get_header("Content-Encoding") or "identity").strip().lower() not in _CODINGS:
            raise ApiError(
                "unsupported_media_type", "Send the body uncompressed or gzip-compressed."
            )
        return limit, length, chunked

    @property
    def check(self) -> _BodyHeaders:
        """The header-only step, as a middleware of its own."""
        return _BodyHeaders(self)

    def process_resource(self, req, resp, resource, params) -> None:
        req.context.json = None
        req.context.has_body = False
        declared = self._declared(req, resource)
        if declared is None:
            return
        limit, length, _chunked = declared
        # Falcon's bounded_stream reads nothing when there is no Content-Length, so a chunked
        # body is read from the server's (de-chunking) stream, never more than limit + 1 bytes.
        raw = req.bounded_stream.read(limit + 1) if length else _read_at_most(req.stream, limit + 1)
        if len(raw) > limit:
            raise ApiError("payload_too_large", f"The body may be at most {limit} bytes.")
        if (req.get_header("Content-Encoding") or "").strip().lower() in _GZIP:
            raw = _gunzip(raw, limit)
        req.context.json = parse_json(raw)
        req.context.has_body = True  # tells a JSON ``null`` body from no body at all


class _BodyHeaders:
    """413 and 415 from the headers alone, before anyone is authenticated."""

    def __init__(self, body: JsonBody) -> None:
        self._body = body

    def process_resource(self, req, resp, resource, params) -> None:
        if resource is not None:
            self._body._declared(req, resource)


_GZIP = ("gzip", "x-gzip")
_CODINGS = ("identity", *_GZIP)
"""Content codings a request body may come in (RFC 9110 §8.4); a sync push sends gzip."""


def _gunzip(raw: bytes, limit: int) -> bytes:
    """A gzip body decompressed, never to more than ``limit`` bytes (so a small body that
    would expand enormously is refused after ``limit`` bytes of work, not after all of it)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise ApiError("malformed_json", "The body is not valid gzip.") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise ApiError(
            "payload_too_large", f"The body may be at most {limit} bytes once decompressed."
        )
    if not inflater.eof or inflater.unused_data:
        raise ApiError("malformed_json", "The body is not one complete gzip stream.")
    return data


def _read_at_most(stream, size: int) -> bytes:
    """Up to ``size`` bytes of a stream whose length is unknown (``read(n)`` may return less)."""
    chunks, total = [], 0
    while total < size:
        chunk = stream.read(min(size - total, 64 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes):
    """Strict JSON: UTF-8, no NaN/Infinity, bounded nesting; else 400 ``malformed_json``.

    Nesting is measured on the parsed value (the C parser itself stops at the interpreter's
    recursion limit, which is deeper than the bound): scanning the text character by character
    in Python cost more than parsing it, 30 ms for a 1 MB sync push.
    """
    try:
        text = raw.decode("utf-8")
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            raise ValueError("nested too deeply") from None
        if _depth(data) > _MAX_DEPTH:
            raise ValueError("nested too deeply")
    except (UnicodeDecodeError, ValueError) as error:
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
    if _SURROGATE.search(text) and _has_lone_surrogate(data):
        # "\ud800" is valid JSON syntax but no valid text: it cannot be encoded as UTF-8 (the
        # password hash, the database and the logs would all fail on it later with a 500)
        raise ApiError("malformed_json", "The body contains an unpaired UTF-16 surrogate escape.")
    return data


_SURROGATE = re.compile(r"\\[uU][dD][89a-fA-F]")


def _has_lone_surrogate(data) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _depth(value) -> int:
    """The deepest nesting of arrays and objects in a parsed value (0 for a scalar), walked
    without recursion and given up as soon as it passes the bound."""
    if type(value) not in (dict, list):
        return 0
    deepest = 1
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > _MAX_DEPTH:
                return deepest
        for child in node.values() if type(node) is dict else node:
            if type(child) in (dict, list):
                stack.append((child, depth + 1))
    return deepest


class Authentication:
    """Bearer access tokens (security.md rules 4–5), checked against the database on every
    request: the user (role, disabled, token version) and the device's family in one query."""

    def __init__(self, config: Config, issuer, counter=None) -> None:
        from flipdeck.server.ratelimit import counter as make_counter

        self.config = config
        self.issuer = issuer
        self.counter = counter if counter is not None else make_counter(config.redis_url)

    def process_resource(self, req, resp, resource, params) -> None:
        mode = getattr(resource, "auth", "required")
        if resource is None or mode is None or req.method == "OPTIONS":
            return
        try:
            self._authenticate(req, mode)
        except ApiError:
            # a request whose token is missing or refused is anonymous: it spends the per-IP
            # budget (RateLimits never sees it), so bad tokens cannot be sent without limit
            if getattr(resource, "rate", "default") is not None:
                _check_budget(
                    self.counter,
                    f"ip:{address_key(req.context.client_ip)}",
                    3600,
                    self.config.limits.anonymous_per_hour,
                    self.config.clock(),
                )
            raise

    def _authenticate(self, req, mode: str) -> None:
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
        self.user_budgets = Reservations(counter)

    def process_resource(self, req, resp, resource, params) -> None:
        kind = getattr(resource, "rate", "default")
        if resource is None or kind is None or req.method == "OPTIONS":
            return
        limits = self.config.limits
        now = self.config.clock()
        if kind == "auth":
            address = address_key(req.context.client_ip)
            _check_budget(self.counter, f"auth:{address}", 60, limits.auth_per_minute, now)
        if req.context.user is not None:
            key = f"user:{req.context.user.id}"
            if not self.user_budgets.take(key, 3600, limits.user_per_hour, now):
                _refuse(key, 3600, now)
        else:
            address = address_key(req.context.client_ip)
            _check_budget(self.counter, f"ip:{address}", 3600, limits.anonymous_per_hour, now)


def _check_budget(counter, key: str, window: int, limit: int, now: float) -> None:
    """Spend one request of ``key``'s budget; 429 with ``Retry-After`` once it is spent."""
    hit = counter.hit(key, window, now)
    if hit.count > limit:
        _refuse(key, window, now)


def _refuse(key: str, window: int, now: float):
    resets_at = int(now) // window * window + window
    retry = max(1, int(resets_at - now))
    logs.event("rate_limited", logging.WARNING, reason=key.split(":")[0])
    raise ApiError(
        "rate_limited",
        f"Too many requests; retry in {retry} s.",
        headers={"Retry-After": str(retry)},
    )


class Reservations:
    """A worker's share of a shared budget, claimed from the counter a block at a time.

    A signed-in client's budget is large (1,000 an hour), and writing the shared counter on
    every request would make the limiter the most expensive part of a request. So a worker
    claims several units with one atomic increment and spends them locally. The budget still
    holds across every worker and host: units are only ever served after the shared counter
    has been incremented past them, so at most ``limit`` requests pass in a window. Blocks
    shrink as the budget runs low (down to single units), so near the limit it is exact;
    units a worker holds unspent are simply lost when the window ends (stricter, never
    looser).
    """

    MAX_BLOCK = 32

    def __init__(self, counter) -> None:
        self.counter = counter
        self._held: dict[str, tuple[int, int, int]] = {}  # key -> (window start, units, seen)

    def take(self, key: str, window: int, limit: int, now: float) -> bool:
        """Spend one unit of ``key``'s budget; ``False`` when it is spent."""
        start = int(now) // window * window
        held_start, units, seen = self._held.get(key, (start, 0, 0))
        if held_start != start:
            units, seen = 0, 0
        if units > 0:
            self._held[key] = (start, units - 1, seen)
            return True
        block = max(1, min(self.MAX_BLOCK, (limit - seen) // 8))
        hit = self.counter.hit(key, window, now, amount=block)
        granted = min(block, limit - (hit.count - block))  # units of this block within budget
        if granted <= 0:
            self._held[key] = (start, 0, hit.count)
            return False
        self._held[key] = (start, granted - 1, hit.count)
        if len(self._held) > 10_000:  # forget the oldest clients
            self._held.pop(next(iter(self._held)))
        return True

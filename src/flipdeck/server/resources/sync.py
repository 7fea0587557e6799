"""Provides ``/v1/sync``: push a device's changes, pull everyone else's."""

from __future__ import annotations

import re

import falcon

from flipdeck.protocol import PROTOCOL_VERSION, messages
from flipdeck.server import idempotency
from flipdeck.server.errors import ApiError
from flipdeck.server.resources.common import respond_compressed
from flipdeck.server.services import sync

_DEVICE = re.compile(r"^[0-9A-Za-z_.:-]{1,64}$")
DEFAULT_PULL = 1000


class SyncPush:
    """``POST /v1/sync/push`` (an ``Idempotency-Key`` is required)."""

    def __init__(self, app_state) -> None:
        self.state = app_state
        self.max_body = app_state.config.max_sync_body

    def on_post(self, req, resp) -> None:
        key = idempotency.key_of(req)
        body = req.context.json
        try:
            request = messages.decode_push(body if req.context.has_body else {})
        except messages.ProtocolError as error:
            if error.pointer == "/protocol" and "newer" in error.detail:
                raise ApiError(
                    "protocol_mismatch",
                    f"This server speaks sync protocol {PROTOCOL_VERSION}; upgrade it.",
                ) from None
            if error.pointer == "/changes" and "at most" in error.detail:
                raise ApiError(
                    "payload_too_large",
                    f"Push at most {messages.MAX_CHANGES_PER_PUSH} changes per request; "
                    "split the batch.",
                ) from None
            raise ApiError(
                "validation_failed", errors=[{"pointer": error.pointer, "detail": error.detail}]
            ) from None
        user_id = req.context.user.id
        now = int(self.state.config.clock())

        texts = sync.encode_data(request)

        def work() -> tuple[int, str]:
            result = sync.push(user_id, request, now, texts)
            return 200, messages.encode_push_response(result).decode()

        outcome = idempotency.run(
            user_id,
            "sync.push",
            key,
            sync.fingerprint(request, texts),
            now,
            work,
            equivalent=lambda: idempotency.fingerprint(body),
        )
        resp.status = outcome.status
        resp.content_type = falcon.MEDIA_JSON
        resp.set_header("Accept-Encoding", "gzip")  # RFC 7694: pushes may come compressed
        resp.text = outcome.body
        if outcome.replayed:
            resp.set_header("Idempotent-Replayed", "true")


class SyncPull:
    """``GET /v1/sync/pull?after=N&device=D&limit=L``."""

    def __init__(self, app_state) -> None:
        self.state = app_state

    def on_get(self, req, resp) -> None:
        after = _integer(req, "after", 0, 0, 2**62)
        limit = _integer(req, "limit", DEFAULT_PULL, 1, messages.MAX_PULL_LIMIT)
        device = req.get_param("device") or ""
        if device and not _DEVICE.match(device):
            raise ApiError(
                "validation_failed",
                errors=[{"pointer": "#/query/device", "detail": "must be a device id"}],
            )
        respond_compressed(req, resp, sync.pull(req.context.user.id, after, device, limit))


def _integer(req, name: str, default: int, low: int, high: int) -> int:
    raw = req.get_param(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(
            "validation_failed",
            errors=[{"pointer": f"#/query/{name}", "detail": f"must be an integer {low}–{high}"}],
        )
    return int(raw)

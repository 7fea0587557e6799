"""Provides the operational endpoints: liveness, readiness, the OpenAPI document and the docs
page (its script and styles are served from the package, so it works with no internet)."""

from __future__ import annotations

from importlib import resources as package_files

import falcon

from flipdeck.server.errors import ApiError
from flipdeck.server.resources.common import respond


class Health:
    """``GET /health``: the process answers (no database involved)."""

    auth = None
    rate = None

    def on_get(self, req, resp) -> None:
        respond(resp, {"status": "ok"})


class Ready:
    """``GET /ready``: the database answers a query."""

    auth = None
    rate = None

    def on_get(self, req, resp) -> None:
        from flipdeck.server.db import database

        database.execute_sql("SELECT 1").fetchone()
        respond(resp, {"status": "ready"})


class OpenApi:
    """``GET /openapi.json``."""

    auth = None
    rate = None

    def __init__(self, document: dict) -> None:
        self.document = document

    def on_get(self, req, resp) -> None:
        respond(resp, self.document)


_ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "docs.js": "text/javascript; charset=utf-8",
    "docs.css": "text/css; charset=utf-8",
}


class Docs:
    """``GET /docs`` and its assets ``/docs/{name}``."""

    auth = None
    rate = None

    def on_get(self, req, resp, name: str = "index.html") -> None:
        if name not in _ASSETS:
            raise ApiError("not_found", "No such file.")
        data = package_files.files("flipdeck.server").joinpath("static", name).read_bytes()
        resp.status = falcon.HTTP_200
        resp.content_type = _ASSETS[name]
        resp.data = data
        resp.set_header("Cache-Control", "public, max-age=300")
        resp.set_header(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'",
        )

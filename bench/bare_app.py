"""The baseline of ``server_bench.py``: a bare Falcon app whose one endpoint returns a constant
JSON object, served by gunicorn with exactly the settings of the flipdeck app it is compared
with (``gunicorn bare_app:app``)."""

from __future__ import annotations

import falcon


class Constant:
    """``GET /``: ``{"status": "ok"}``, no middleware, no database."""

    def on_get(self, req, resp) -> None:
        resp.media = {"status": "ok"}


app = falcon.App()
app.add_route("/", Constant())

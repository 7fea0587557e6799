"""The flipdeck app for ``server_bench.py`` (``gunicorn bench_wsgi:app``): ``create_app`` on
``Config.from_env()``, exactly as ``flipdeck.server.wsgi``, except that the request budgets are
raised out of reach, so a throughput run is never answered with 429.

The server's configuration only accepts *stricter* limits (security.md), which is why this
module exists rather than an environment variable. Everything else is production: the rate
limiter still counts every request against the shared counter in the database (a worker claims
units in blocks of up to 32 with one upsert, as in production), authentication
still loads the user and the device sign-in per request, passwords use the configured profile
(default scrypt N=2^17), and logs are JSON lines at INFO.
"""

from __future__ import annotations

import dataclasses

from flipdeck.server.app import create_app
from flipdeck.server.config import Config

OUT_OF_REACH = 10**12

_config = Config.from_env()
BENCH_CONFIG = dataclasses.replace(
    _config,
    limits=dataclasses.replace(
        _config.limits,
        anonymous_per_hour=OUT_OF_REACH,
        user_per_hour=OUT_OF_REACH,
        auth_per_minute=OUT_OF_REACH,
        failed_logins_per_ip_hour=OUT_OF_REACH,
    ),
)
app = create_app(BENCH_CONFIG)

"""Provides :func:`create_app`: the Falcon app with everything injected.

The CLI, ``wsgi.py`` and the tests all build the app here, from a :class:`Config`. Nothing
connects to the database here: connections open on the first query of a request, after
gunicorn has forked its workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import falcon

from flipdeck.server import errors, logs, openapi
from flipdeck.server.config import Config
from flipdeck.server.db import ConnectionMiddleware, open_database
from flipdeck.server.middleware import Authentication, JsonBody, RateLimits, RequestContext
from flipdeck.server.passwords import Hasher
from flipdeck.server.ratelimit import counter
from flipdeck.server.resources import auth, me, ops, sync, users
from flipdeck.server.tokens import TokenIssuer


@dataclass(frozen=True)
class AppState:
    """The collaborators resources share."""

    config: Config
    issuer: TokenIssuer
    hasher: Hasher
    counter: object


def routes(state: AppState, document: dict) -> list[tuple[str, object]]:
    """Every route of the API, in one place."""
    docs = ops.Docs()
    return [
        ("/v1/auth/register", auth.Register(state)),
        ("/v1/auth/login", auth.Login(state)),
        ("/v1/auth/refresh", auth.Refresh(state)),
        ("/v1/auth/logout", auth.Logout(state)),
        ("/v1/auth/logout-all", auth.LogoutAll(state)),
        ("/v1/me", me.Me(state)),
        ("/v1/me/password", me.Password(state)),
        ("/v1/me/devices", me.Devices(state)),
        ("/v1/me/devices/{device_id}", me.Device(state)),
        ("/v1/users", users.Users(state)),
        ("/v1/users/{user_id}", users.UserItem(state)),
        ("/v1/sync/push", sync.SyncPush(state)),
        ("/v1/sync/pull", sync.SyncPull(state)),
        ("/health", ops.Health()),
        ("/ready", ops.Ready()),
        ("/openapi.json", ops.OpenApi(document)),
        ("/docs", docs),
        ("/docs/{name}", docs),
    ]


def create_app(config: Config) -> falcon.App:
    """The WSGI app for ``config``."""
    logs.configure(config.log_level)
    open_database(config)
    issuer = TokenIssuer(config)
    state = AppState(
        config=config,
        issuer=issuer,
        hasher=Hasher(config.password, config.hash_slots, config.hash_wait),
        counter=counter(config.redis_url),
    )
    middleware = [RequestContext(config)]
    if config.cors_origins:
        middleware.append(
            falcon.CORSMiddleware(
                allow_origins=list(config.cors_origins),
                expose_headers=["X-Request-ID", "Retry-After", "X-Response-Time"],
            )
        )
    # body headers (413/415), then who is asking and whether they may, then the body itself
    body = JsonBody(config)
    middleware += [
        body.check,
        Authentication(config, issuer, state.counter),
        RateLimits(config, state.counter),
        body,
        ConnectionMiddleware(),
    ]
    app = falcon.App(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    errors.install(app)
    for path, resource in routes(state, openapi.document()):
        app.add_route(path, resource)
    return app

"""Provides ``/v1/auth/*``: register, login, refresh, logout, logout from every device."""

from __future__ import annotations

from flipdeck.server.errors import ApiError
from flipdeck.server.resources.common import body, token_response
from flipdeck.server.services import accounts
from flipdeck.server.validation import Field

_DEVICE = Field(required=False, max_length=100)


class _Auth:
    auth = None
    rate = "auth"

    def __init__(self, app_state) -> None:
        self.state = app_state


class Register(_Auth):
    """``POST /v1/auth/register``: create an account; answers with a token pair at once."""

    fields = {
        "username": Field("username"),
        "email": Field("email", max_length=254),
        "password": Field("password"),
        "device_name": _DEVICE,
    }

    def on_post(self, req, resp) -> None:
        data = body(req, self.fields)
        s = self.state
        pair = accounts.register(
            s.config,
            s.issuer,
            s.hasher,
            username=data["username"],
            email=data["email"],
            password=data["password"],
            device=data.get("device_name", ""),
            agent=req.user_agent or "",
        )
        token_response(resp, pair, 201)


class Login(_Auth):
    """``POST /v1/auth/login``: ``username`` or ``email``, with ``password``."""

    fields = {
        "username": Field(required=False, max_length=254),
        "email": Field(required=False, max_length=254),
        "password": Field("password"),
        "device_name": _DEVICE,
    }

    def on_post(self, req, resp) -> None:
        data = body(req, self.fields)
        given = [k for k in ("username", "email") if k in data]
        if len(given) != 1:
            raise ApiError(
                "validation_failed",
                errors=[{"pointer": "/username", "detail": "give username or email (one)"}],
            )
        s = self.state
        pair = accounts.login(
            s.config,
            s.issuer,
            s.hasher,
            s.counter,
            login=data[given[0]],
            password=data["password"],
            ip=req.context.client_ip,
            device=data.get("device_name", ""),
            agent=req.user_agent or "",
        )
        token_response(resp, pair)


class Refresh(_Auth):
    """``POST /v1/auth/refresh`` with ``{"refresh": …}``: a new pair; the old token is spent."""

    fields = {"refresh": Field(max_length=512)}

    def on_post(self, req, resp) -> None:
        data = body(req, self.fields)
        token_response(
            resp, accounts.refresh(self.state.config, self.state.issuer, data["refresh"])
        )


class Logout:
    """``POST /v1/auth/logout``: sign this device out."""

    rate = "auth"

    def __init__(self, app_state) -> None:
        self.state = app_state

    def on_post(self, req, resp) -> None:
        body(req, {})
        accounts.logout(self.state.config, req.context.family)
        resp.status = 204


class LogoutAll(Logout):
    """``POST /v1/auth/logout-all``: sign every device out."""

    def on_post(self, req, resp) -> None:
        body(req, {})
        accounts.logout_all(self.state.config, req.context.user)
        resp.status = 204

"""Provides ``/v1/me``: the caller's profile, password and signed-in devices."""

from __future__ import annotations

from flipdeck.server.pagination import paginate
from flipdeck.server.resources.common import body, device_json, respond, token_response, user_json
from flipdeck.server.services import accounts
from flipdeck.server.validation import Field


class _Mine:
    def __init__(self, app_state) -> None:
        self.state = app_state


class Me(_Mine):
    """``GET /v1/me`` and ``PATCH /v1/me`` (display name, bio, avatar URL, time zone)."""

    fields = {
        "display_name": Field(max_length=100),
        "bio": Field(max_length=2000),
        "avatar_url": Field("url", max_length=2048),
        "timezone": Field("timezone", max_length=64),
    }

    def on_get(self, req, resp) -> None:
        respond(resp, user_json(req.context.user))

    def on_patch(self, req, resp) -> None:
        changes = body(req, self.fields, partial=True)
        user = accounts.update_profile(self.state.config, req.context.user, changes)
        respond(resp, user_json(user))


class Password(_Mine):
    """``POST /v1/me/password``: change it; other devices are signed out."""

    fields = {"current_password": Field("password"), "new_password": Field("password")}

    def on_post(self, req, resp) -> None:
        data = body(req, self.fields)
        s = self.state
        pair = accounts.change_password(
            s.config,
            s.issuer,
            s.hasher,
            req.context.user,
            req.context.family,
            current=data["current_password"],
            new=data["new_password"],
            counter=s.counter,
            ip=req.context.client_ip,
        )
        token_response(resp, pair)


class Devices(_Mine):
    """``GET /v1/me/devices``: where the caller is signed in."""

    def on_get(self, req, resp) -> None:
        from flipdeck.server.models import Family

        user, current = req.context.user, req.context.family.id
        now = int(self.state.config.clock())
        query = Family.select().where(
            (Family.user == user.id) & Family.revoked_at.is_null() & (Family.expires_at > now)
        )
        respond(
            resp,
            paginate(
                req,
                query,
                lambda f: device_json(f, current),
                cap=self.state.config.page_size_cap,
                ordering={"created_at": Family.created_at, "last_used_at": Family.last_used_at},
                default_ordering="-created_at",
            ),
        )


class Device(_Mine):
    """``DELETE /v1/me/devices/{device_id}``: sign one device out."""

    def on_delete(self, req, resp, device_id: str) -> None:
        accounts.revoke_device(self.state.config, req.context.user, device_id)
        resp.status = 204

"""Provides ``/v1/users`` for admins: list users (paginated, sorted, filtered) and change
roles."""

from __future__ import annotations

from flipdeck.server.errors import ApiError
from flipdeck.server.models import ROLES, User
from flipdeck.server.pagination import paginate
from flipdeck.server.resources.common import body, require_role, respond, user_json
from flipdeck.server.services import accounts
from flipdeck.server.validation import Field


def _role_filter(value: str):
    if value not in ROLES:
        raise ApiError(
            "validation_failed",
            errors=[{"pointer": "#/query/role", "detail": f"must be one of {', '.join(ROLES)}"}],
        )
    return User.role == value


def _search_filter(value: str):
    needle = value.replace("\x00", "").strip().lower()[:64]
    return User.username.contains(needle) | User.email.contains(needle)


class Users:
    """``GET /v1/users`` (admin)."""

    def __init__(self, app_state) -> None:
        self.state = app_state

    def on_get(self, req, resp) -> None:
        require_role(req, "admin")
        respond(
            resp,
            paginate(
                req,
                User.select(),
                user_json,
                cap=self.state.config.page_size_cap,
                ordering={
                    "username": User.username,
                    "created_at": User.created_at,
                    "role": User.role,
                },
                default_ordering="username",
                filters={"role": _role_filter, "search": _search_filter},
            ),
        )


class UserItem:
    """``GET`` and ``PATCH /v1/users/{user_id}`` (admin; only ``role`` may change)."""

    fields = {"role": Field("choice", choices=ROLES)}

    def __init__(self, app_state) -> None:
        self.state = app_state

    def on_get(self, req, resp, user_id: str) -> None:
        require_role(req, "admin")
        respond(resp, user_json(accounts.get_user(user_id)))

    def on_patch(self, req, resp, user_id: str) -> None:
        require_role(req, "admin")
        data = body(req, self.fields)
        respond(
            resp,
            user_json(
                accounts.set_role(self.state.config, req.context.user, user_id, data["role"])
            ),
        )

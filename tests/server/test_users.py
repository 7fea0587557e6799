"""``/v1/users`` for admins: the listing convention (envelope, capped pages, allow-listed
ordering and filters) and role changes that apply from the user's next request (security.md
rules 4, 21, 26 and 27).

Admins are made by updating the ``User`` row directly (the API has no way to become one), and
bulk users are inserted as rows, which keeps the listing tests quick.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from flipdeck.core.ids import uuid7
from tests.server.conftest import USER_KEYS, bearer, register


def set_role(name: str, role: str) -> None:
    from flipdeck.server.db import database
    from flipdeck.server.models import User

    with database.connection_context():
        User.update(role=role).where(User.username == name).execute()


def role_of(name: str) -> str:
    from flipdeck.server.db import database
    from flipdeck.server.models import User

    with database.connection_context():
        return User.get(User.username == name).role


def add_users(count: int, start: float, roles=("student", "instructor")) -> list[str]:
    """``count`` users ``user000``… as rows, a second apart; returns their usernames."""
    from flipdeck.server.db import database
    from flipdeck.server.models import User

    names = [f"user{n:03d}" for n in range(count)]
    rows = [
        {
            "id": uuid7(),
            "username": name,
            "email": f"{name}@example.org",
            "password_hash": "scrypt$ln=10,r=8,p=1$AAAA$AAAA",
            "role": roles[n % len(roles)],
            "created_at": int(start) + n + 1,
            "updated_at": int(start) + n + 1,
        }
        for n, name in enumerate(names)
    ]
    with database.connection_context():
        User.insert_many(rows).execute()
    return names


@pytest.fixture
def admin(client):
    pair = register(client, "root")
    set_role("root", "admin")
    return pair


def listing(client, admin, **params):
    response = client.simulate_get("/v1/users", headers=bearer(admin["access"]), params=params)
    assert response.status_code == 200, response.text
    return response.json


def query_problem(client, admin, **params) -> dict:
    response = client.simulate_get("/v1/users", headers=bearer(admin["access"]), params=params)
    assert response.status_code == 422, response.text
    assert response.json["code"] == "validation_failed"
    return response.json


def test_the_listing_envelope_and_its_links(client, admin, seconds_clock):
    """``{count, next, previous, results}``; following ``next`` gives the rest."""
    names = add_users(24, seconds_clock())
    first = listing(client, admin)
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 25 and first["previous"] is None
    assert len(first["results"]) == 20
    assert set(first["results"][0]) == USER_KEYS
    assert [u["username"] for u in first["results"]] == sorted(["root", *names])[:20]
    assert "page=2" in first["next"] and "page_size=20" in first["next"]
    link = urlparse(first["next"])
    assert link.path == "/v1/users"
    second = client.simulate_get(
        link.path, query_string=link.query, headers=bearer(admin["access"])
    ).json
    assert len(second["results"]) == 5 and second["next"] is None
    assert "page=1" in second["previous"]
    everyone = {u["id"] for u in first["results"]} | {u["id"] for u in second["results"]}
    assert len(everyone) == 25
    beyond = listing(client, admin, page=99)
    assert beyond["results"] == [] and beyond["next"] is None


def test_page_size_is_capped_at_100(client, admin, seconds_clock):
    """Rule 21: a larger page_size is served as 100 (and the links say so)."""
    add_users(120, seconds_clock())
    page = listing(client, admin, page_size=500)
    assert len(page["results"]) == 100 and page["count"] == 121
    assert "page_size=100" in page["next"]
    assert len(listing(client, admin, page_size=7)["results"]) == 7


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"page": "abc"},
        {"page_size": "0"},
        {"page_size": "-5"},
        {"page": str(10**30)},  # an OFFSET beyond 64 bits: an overflow, never a 500
        {"ordering": "password_hash"},
        {"ordering": "email"},
        {"ordering": "--username"},
        {"role": "superuser"},
    ],
    ids=[
        "page-0",
        "page-text",
        "size-0",
        "size-negative",
        "page-huge",
        "order-secret",
        "order-unlisted",
        "order-double-minus",
        "role-unknown",
    ],
)
def test_bad_query_parameters_are_422(client, admin, params):
    """Unknown orderings, roles and out-of-range pages are 422, never a 500."""
    problem = query_problem(client, admin, **params)
    assert problem["errors"][0]["pointer"].startswith("#/query/")


def test_ordering_on_allow_listed_fields(client, admin, seconds_clock):
    """Each allow-listed field sorts both ways."""
    names = add_users(5, seconds_clock())

    def order(value):
        return [u["username"] for u in listing(client, admin, ordering=value)["results"]]

    assert order("username") == sorted(["root", *names])
    assert order("-username") == sorted(["root", *names], reverse=True)
    assert order("created_at") == ["root", *names]  # root registered first
    assert order("-created_at") == [*reversed(names), "root"]
    roles = [u["role"] for u in listing(client, admin, ordering="role")["results"]]
    assert roles == sorted(roles)


def test_filters_on_role_and_search(client, admin, seconds_clock):
    """Only allow-listed filters apply; search matches a literal substring."""
    names = add_users(6, seconds_clock())
    instructors = listing(client, admin, role="instructor")
    assert {u["username"] for u in instructors["results"]} == set(names[1::2])
    assert instructors["count"] == 3
    assert [u["username"] for u in listing(client, admin, role="admin")["results"]] == ["root"]
    found = listing(client, admin, search="USER00")
    assert found["count"] == 6
    by_mail = listing(client, admin, search="user003@example.org")
    assert [u["username"] for u in by_mail["results"]] == ["user003"]
    assert listing(client, admin, search="%")["count"] == 0  # a literal, not a wildcard
    assert listing(client, admin, search="a\x00b")["count"] == 0
    # a parameter that is not an allow-listed filter filters nothing
    assert listing(client, admin, email="user003@example.org")["count"] == 7


@pytest.mark.parametrize("role", ["student", "instructor"])
def test_only_admins_may_list_or_change_users(client, role):
    """Rules 26–27: 403 with ``insufficient_scope``, and nobody's role changes."""
    pair = register(client, "mallory")
    victim = register(client, "victim")
    set_role("mallory", role)
    headers = bearer(pair["access"])
    responses = [
        client.simulate_get("/v1/users", headers=headers),
        client.simulate_get(f"/v1/users/{victim['user']['id']}", headers=headers),
        client.simulate_patch(
            f"/v1/users/{victim['user']['id']}", json={"role": "admin"}, headers=headers
        ),
        client.simulate_patch(
            f"/v1/users/{pair['user']['id']}", json={"role": "admin"}, headers=headers
        ),
    ]
    for response in responses:
        assert response.status_code == 403
        assert response.json["code"] == "forbidden"
        assert response.headers["WWW-Authenticate"] == (
            'Bearer realm="flipdeck", error="insufficient_scope"'
        )
    assert (role_of("mallory"), role_of("victim")) == (role, "student")


def test_a_role_change_applies_from_the_next_request(client, admin):
    """Rules 4 and 27: the role is read from the database each request, so Bob's unchanged
    access token sees each new role at once."""
    bob = register(client, "bob")
    bob_id = bob["user"]["id"]
    headers = bearer(bob["access"])

    def change(role):
        response = client.simulate_patch(
            f"/v1/users/{bob_id}", json={"role": role}, headers=bearer(admin["access"])
        )
        assert response.status_code == 200, response.text
        assert set(response.json) == USER_KEYS and response.json["role"] == role

    change("instructor")
    assert client.simulate_get("/v1/me", headers=headers).json["role"] == "instructor"
    assert client.simulate_get("/v1/users", headers=headers).status_code == 403
    change("admin")
    assert client.simulate_get("/v1/users", headers=headers).status_code == 200
    change("student")
    assert client.simulate_get("/v1/users", headers=headers).status_code == 403
    assert client.simulate_get("/v1/me", headers=headers).json["role"] == "student"


def test_an_admin_reads_one_user(client, admin):
    """An admin sees a user exactly as that user sees themself."""
    bob = register(client, "bob")
    response = client.simulate_get(
        f"/v1/users/{bob['user']['id']}", headers=bearer(admin["access"])
    )
    assert response.status_code == 200 and response.json == bob["user"]


@pytest.mark.parametrize(
    "user_id", ["00000000-0000-7000-8000-000000000000", "nope", "%00", "1 OR 1=1"]
)
def test_an_unknown_user_is_not_found(client, admin, user_id):
    """Unknown or malformed ids are 404 (never reaching SQL when malformed)."""
    for response in (
        client.simulate_get(f"/v1/users/{user_id}", headers=bearer(admin["access"])),
        client.simulate_patch(
            f"/v1/users/{user_id}", json={"role": "admin"}, headers=bearer(admin["access"])
        ),
    ):
        assert response.status_code == 404
        assert response.json["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"role": "root"}, "/role"),
        ({}, "/role"),
        ({"role": "admin", "email": "x@example.com"}, "/email"),
        ({"role": 1}, "/role"),
    ],
    ids=["unknown-role", "missing", "extra-field", "not-a-string"],
)
def test_a_role_change_is_validated(client, admin, body, pointer):
    """Only ``role``, only a known one; nothing changes otherwise."""
    bob = register(client, "bob")
    response = client.simulate_patch(
        f"/v1/users/{bob['user']['id']}", json=body, headers=bearer(admin["access"])
    )
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    assert role_of("bob") == "student"

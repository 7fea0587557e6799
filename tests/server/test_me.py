"""The caller's own account: profile, devices and their revocation (security.md rules 4, 11,
23, 26 and 27; attack A12 for devices).

Validation problems name each offending member by JSON Pointer; a device that is not the
caller's is simply not found, and probing for it changes nothing.
"""

from __future__ import annotations

import pytest

from tests.server.conftest import STRONG_PASSWORD, USER_KEYS, bearer, register

DEVICE_KEYS = {"id", "name", "user_agent", "created_at", "last_used_at", "expires_at", "current"}


def login(client, name="alice", device="", agent="test-agent/1.0"):
    response = client.simulate_post(
        "/v1/auth/login",
        json={"username": name, "password": STRONG_PASSWORD, "device_name": device},
        headers={"User-Agent": agent},
    )
    assert response.status_code == 200, response.text
    return response.json


def me(client, pair):
    return client.simulate_get("/v1/me", headers=bearer(pair["access"]))


def patch(client, pair, body):
    return client.simulate_patch("/v1/me", json=body, headers=bearer(pair["access"]))


def devices(client, pair, **params):
    response = client.simulate_get("/v1/me/devices", headers=bearer(pair["access"]), params=params)
    assert response.status_code == 200, response.text
    return response.json


def refresh_ok(client, pair) -> bool:
    return (
        client.simulate_post("/v1/auth/refresh", json={"refresh": pair["refresh"]}).status_code
        == 200
    )


def pointers(response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.json["code"] == "validation_failed"
    return {e["pointer"] for e in response.json["errors"]}


# -- profile --------------------------------------------------------------------------------------


def test_the_profile_is_read_and_changed(client):
    """The four profile members can be set, partially, and cleared."""
    pair = register(client, "alice")
    body = me(client, pair).json
    assert set(body) == USER_KEYS and body["username"] == "alice"
    changes = {
        "display_name": "Alice Liddell",
        "bio": "Down the rabbit hole. 🐇",
        "avatar_url": "https://img.example/alice.png",
        "timezone": "Europe/Paris",
    }
    response = patch(client, pair, changes)
    assert response.status_code == 200
    assert {k: response.json[k] for k in changes} == changes
    assert {k: me(client, pair).json[k] for k in changes} == changes
    cleared = patch(client, pair, {"avatar_url": "", "bio": ""})
    assert cleared.json["avatar_url"] == "" and cleared.json["bio"] == ""
    assert cleared.json["timezone"] == "Europe/Paris"  # a partial update


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"display_name": "x" * 101}, {"/display_name"}),
        ({"bio": "x" * 2001}, {"/bio"}),
        ({"bio": 5}, {"/bio"}),
        ({"avatar_url": "javascript:alert(1)"}, {"/avatar_url"}),
        ({"avatar_url": "https://img.example/a b.png"}, {"/avatar_url"}),
        ({"avatar_url": "https://img.example/a.png\n"}, {"/avatar_url"}),
        ({"timezone": "Mars/Olympus_Mons"}, {"/timezone"}),
        ({"timezone": "America"}, {"/timezone"}),  # a directory of the zone database
        ({"timezone": "../../../etc/passwd"}, {"/timezone"}),
        ({"nickname": "ally"}, {"/nickname"}),
        ({"a/b": 1, "m~n": 2}, {"/a~1b", "/m~0n"}),
        (
            {"display_name": None, "timezone": "Nowhere", "extra": True},
            {"/display_name", "/timezone", "/extra"},
        ),
    ],
    ids=[
        "name-long",
        "bio-long",
        "bio-number",
        "avatar-javascript",
        "avatar-space",
        "avatar-newline",
        "timezone-unknown",
        "timezone-directory",
        "timezone-path",
        "unknown",
        "escaped-pointers",
        "several",
    ],
)
def test_profile_problems_are_json_pointers(client, body, expected):
    """Rule 23: each bad member is named by its (escaped) pointer; nothing is saved."""
    pair = register(client, "alice")
    before = me(client, pair).json
    assert pointers(patch(client, pair, body)) == expected
    assert me(client, pair).json == before


@pytest.mark.parametrize(
    "field", ["role", "username", "email", "password_hash", "token_version", "disabled", "id"]
)
def test_a_student_cannot_set_protected_fields(client, field):
    """Rule 27 / A12: ``role`` and the other account fields are not writable here (422), and
    nothing changes, not even the allowed member sent alongside."""
    from flipdeck.server.db import database
    from flipdeck.server.models import User

    pair = register(client, "alice")
    value = {"disabled": True, "token_version": 99}.get(field, "admin")
    response = patch(client, pair, {field: value, "bio": "sneaky"})
    assert pointers(response) == {f"/{field}"}
    with database.connection_context():
        row = User.get(User.username == "alice")
    assert (row.role, row.bio, row.token_version, row.disabled) == ("student", "", 0, False)
    assert me(client, pair).status_code == 200


def test_a_body_that_is_not_an_object_is_refused(client):
    """A top-level array is a 422 at the empty pointer."""
    pair = register(client, "alice")
    response = client.simulate_patch("/v1/me", json=["bio"], headers=bearer(pair["access"]))
    assert pointers(response) == {""}


# -- devices --------------------------------------------------------------------------------------


def test_devices_are_listed_with_the_current_one_marked(client, seconds_clock):
    """Rule 11: the caller's sign-ins, newest first, in the listing envelope."""
    laptop = register(client, "alice", device_name="laptop")
    seconds_clock.advance(60)
    phone = login(client, device="phone", agent="FlipdeckPhone/2.0")
    listing = devices(client, laptop)
    assert set(listing) == {"count", "next", "previous", "results"}
    assert listing["count"] == 2 and listing["next"] is None and listing["previous"] is None
    first, second = listing["results"]  # newest first
    assert set(first) == DEVICE_KEYS
    assert (first["name"], first["user_agent"], first["current"]) == (
        "phone",
        "FlipdeckPhone/2.0",
        False,
    )
    assert (second["name"], second["current"]) == ("laptop", True)
    assert second["created_at"] == "2026-12-01T12:00:00Z"
    assert second["expires_at"] == "2026-12-08T12:00:00Z"
    assert [d["current"] for d in devices(client, phone)["results"]] == [True, False]
    page = devices(client, laptop, page_size=1)
    assert page["count"] == 2 and len(page["results"]) == 1 and "page=2" in page["next"]


def test_a_refresh_updates_last_used_at(client, seconds_clock):
    """A device's last use moves with its refreshes; its creation does not."""
    pair = register(client, "alice")
    seconds_clock.advance(3600)
    renewed = client.simulate_post("/v1/auth/refresh", json={"refresh": pair["refresh"]}).json
    [device] = devices(client, renewed)["results"]
    assert device["last_used_at"] == "2026-12-01T13:00:00Z"
    assert device["created_at"] == "2026-12-01T12:00:00Z"


def test_revoking_a_device_ends_its_tokens_at_once(client):
    """Rule 11: the revoked device's access and refresh tokens fail on their next use."""
    laptop = register(client, "alice", device_name="laptop")
    phone = login(client, device="phone")
    phone_id = next(d["id"] for d in devices(client, laptop)["results"] if d["name"] == "phone")
    response = client.simulate_delete(
        f"/v1/me/devices/{phone_id}", headers=bearer(laptop["access"])
    )
    assert response.status_code == 204
    assert me(client, phone).status_code == 401
    assert not refresh_ok(client, phone)
    assert me(client, laptop).status_code == 200
    assert [d["name"] for d in devices(client, laptop)["results"]] == ["laptop"]
    again = client.simulate_delete(f"/v1/me/devices/{phone_id}", headers=bearer(laptop["access"]))
    assert again.status_code == 404


def test_expired_devices_are_not_listed(client, seconds_clock):
    """A family past its 7 days is no longer a device."""
    register(client, "alice", device_name="old")
    seconds_clock.advance(6 * 86_400)
    recent = login(client, device="recent")
    seconds_clock.advance(86_400)
    renewed = client.simulate_post("/v1/auth/refresh", json={"refresh": recent["refresh"]}).json
    assert [d["name"] for d in devices(client, renewed)["results"]] == ["recent"]


def test_another_users_device_is_not_found_and_untouched(client):
    """A12: Bob deleting Alice's device gets 404, exactly like a device that does not exist,
    and Alice's device keeps working."""
    alice = register(client, "alice")
    bob = register(client, "bob")
    alice_device = devices(client, alice)["results"][0]["id"]
    theirs = client.simulate_delete(f"/v1/me/devices/{alice_device}", headers=bearer(bob["access"]))
    nobody = client.simulate_delete(
        "/v1/me/devices/00000000-0000-7000-8000-000000000000", headers=bearer(bob["access"])
    )
    for response in (theirs, nobody):
        assert response.status_code == 404
        assert response.json["code"] == "not_found"
    assert theirs.json["detail"] == nobody.json["detail"]
    assert [d["id"] for d in devices(client, bob)["results"]] != [alice_device]
    assert me(client, alice).status_code == 200
    assert refresh_ok(client, alice)


@pytest.mark.parametrize(
    "device_id", ["x", "%00", "0" * 36, "00000000-0000-7000-8000-0000000000000", "..%2F..%2Fetc"]
)
def test_a_malformed_device_id_is_not_found(client, device_id):
    """Never a 500: PostgreSQL refuses a NUL in a parameter, so ids are checked first."""
    pair = register(client, "alice")
    response = client.simulate_delete(f"/v1/me/devices/{device_id}", headers=bearer(pair["access"]))
    assert response.status_code == 404
    assert response.json["code"] == "not_found"

"""The connection a request runs on (``db.ConnectionMiddleware``): kept for the thread's next
request while requests follow each other closely, handed back to the pool when it has been idle
or when its request failed, so a connection broken by a database restart is never reused; only
the main thread (where a gunicorn sync worker serves) keeps one."""

from __future__ import annotations

import threading

import pytest

from flipdeck.server.db import ConnectionMiddleware, database
from tests.server.conftest import bearer, register


@pytest.fixture
def signed_in(client):
    return client, bearer(register(client)["access"])


def test_back_to_back_requests_share_one_connection(signed_in):
    client, auth = signed_in
    assert client.simulate_get("/v1/me", headers=auth).status_code == 200
    assert not database.is_closed()
    first = database.connection()
    assert client.simulate_get("/v1/me", headers=auth).status_code == 200
    assert database.connection() is first and not database.is_closed()


def test_a_request_on_any_other_thread_gives_its_connection_back(signed_in):
    """A server may end a thread after one request; one that ended holding a connection would
    take it from the pool for good (the pool ran dry in the threaded test servers)."""
    client, auth = signed_in
    seen = {}

    def serve() -> None:
        seen["status"] = client.simulate_get("/v1/me", headers=auth).status_code
        seen["closed"] = database.is_closed()

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join()
    assert seen == {"status": 200, "closed": True}


def test_a_connection_idle_past_the_keep_time_goes_back_before_the_next_request(
    signed_in, monkeypatch
):
    client, auth = signed_in
    client.simulate_get("/v1/me", headers=auth)
    closes = []
    real_close = database.obj.close
    monkeypatch.setattr(database.obj, "close", lambda: closes.append(1) or real_close())
    monkeypatch.setattr(ConnectionMiddleware, "KEEP_FOR", -1.0)  # everything is "idle"
    assert client.simulate_get("/v1/me", headers=auth).status_code == 200
    assert closes == [1]  # given back once, before the request; the request then checked out
    assert not database.is_closed()


def test_a_failed_request_gives_its_connection_back(signed_in):
    client, auth = signed_in
    client.simulate_get("/v1/me", headers=auth)
    assert not database.is_closed()
    refused = client.simulate_delete("/v1/me/devices/not-an-id", headers=auth)
    assert refused.status_code == 404
    assert database.is_closed()
    assert client.simulate_get("/v1/me", headers=auth).status_code == 200  # and a new one works


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_the_database_dropped_costs_one_503_then_the_api_recovers(
    signed_in, database_url
):
    """A19 in miniature: PostgreSQL ends the kept connection's backend (as a restart does);
    the next request is a 503 ``database_unavailable`` with Retry-After, never a 500 or a hang,
    and the one after it works on a fresh connection, with no worker restarted."""
    import psycopg

    client, auth = signed_in
    assert client.simulate_get("/v1/me", headers=auth).status_code == 200
    backend = database.connection().info.backend_pid
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    dropped = client.simulate_get("/v1/me", headers=auth)
    assert dropped.status_code == 503, dropped.text
    assert dropped.json["code"] == "database_unavailable" and "Retry-After" in dropped.headers
    again = client.simulate_get("/v1/me", headers=auth)
    assert again.status_code == 200
    assert database.connection().info.backend_pid != backend


def test_postgresql_always_runs_on_psycopg_3_even_where_psycopg2_is_importable(monkeypatch):
    """peewee prefers psycopg2 whenever it can import it; the server is written for psycopg 3
    (its pool checks, its kept cursor), so it asks for that driver explicitly."""
    import peewee

    from flipdeck.server.config import Config
    from flipdeck.server.db import open_database

    monkeypatch.setattr(peewee, "psycopg2", object())  # as if psycopg2 were installed
    bound = database.obj
    try:
        db = open_database(
            Config(database_url="postgresql://nobody@127.0.0.1:1/none", secret_key=b"k" * 40)
        )
    finally:
        database.initialize(bound)  # open_database binds the proxy; put the test's back
    assert type(db._adapter) is peewee.Psycopg3Adapter


def test_fetch_one_reads_the_values_peewee_reads(signed_in):
    """The request path's own query runner (a kept cursor on SQLite, a statement prepared once
    and run with one libpq call on PostgreSQL) gives the same Python values as peewee's cursor:
    text, integers, booleans and NULL."""
    from flipdeck.server.db import fetch_one
    from flipdeck.server.models import Family, User

    client, auth = signed_in
    user_id = client.simulate_get("/v1/me", headers=auth).json["id"]
    User.update(disabled=True).where(User.id == user_id).execute()  # a true boolean, too
    query = Family.select(Family, User).join(User).where(Family.user == "?")
    sql = query.sql()[0]
    for _ in range(3):  # prepared on the first call, then reused
        row = fetch_one(sql, (user_id,))
        assert row == database.execute_sql(sql, (user_id,)).fetchone()
    assert True in row and None in row and any(type(v) is int for v in row)
    assert fetch_one(sql, ("no-such-user",)) is None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_fetch_one_prepares_again_after_its_statement_was_deallocated(signed_in, database_url):
    """psycopg sends ``DEALLOCATE ALL`` after every rollback (and a pooler may too), dropping
    the prepared statement: the next call prepares it again and answers."""
    from flipdeck.server.db import fetch_one

    assert fetch_one("SELECT %s::text", ("a",)) == ("a",)
    database.execute_sql("DEALLOCATE ALL")
    assert fetch_one("SELECT %s::text", ("b",)) == ("b",)
    with pytest.raises(ZeroDivisionError), database.atomic():  # a rollback, through psycopg
        database.execute_sql("SELECT 1")  # psycopg prepares statements of its own, too
        raise ZeroDivisionError
    assert fetch_one("SELECT %s::text", ("c",)) == ("c",)

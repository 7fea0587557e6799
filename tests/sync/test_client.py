"""The sync client's one httpx client (``flipdeck.sync.client.ServerClient``).

Against the real server in-process (``httpx.WSGITransport``, with a clock the test controls):

* token refresh happens in one place: a 401 → one refresh → the request again, and the new
  pair is handed to ``on_tokens`` at once; many threads that get a 401 together cause exactly
  one refresh request (single-flight); a refused refresh (the device was revoked) is
  ``AuthRequired`` after exactly one refresh attempt;
* statuses become exceptions in one function: 429 and 503 with ``Retry-After`` →
  ``ServerUnavailable.retry_after``; a problem's ``code`` → ``Rejected.code``; 401 →
  ``AuthRequired``; ``protocol_mismatch`` → ``ProtocolMismatch``;
* requests and bytes are counted, and an idle sync of an up-to-date device is exactly one
  request (``GET /v1/sync/pull``) of under 1 KB.

Against real sockets: a refused connection, a server that never answers (timeout), one that
hangs up mid-request → ``ServerUnavailable``. ``httpx.MockTransport`` only for what the server
cannot produce: a proxy's 502 HTML page and an HTTP-date ``Retry-After``.

Honesty of the byte count: the same idle sync through a loopback TCP relay in front of
``flipdeck-server`` running as a subprocess, where the relay counts every byte on the wire.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from email.utils import formatdate

import httpx
import pytest

from flipdeck.protocol import messages
from flipdeck.store import decks, notes, notetypes, reviews
from flipdeck.sync.client import ServerClient
from flipdeck.sync.engine import SyncEngine
from flipdeck.sync.errors import AuthRequired, ProtocolMismatch, Rejected, ServerUnavailable
from tests.server.conftest import FAST, LOOSE, SECRET, STRONG_PASSWORD, SecondsClock, _migrate
from tests.server.live import free_port, live_server, server_env

BASE = "http://flipdeck.test"


class Recorder(httpx.BaseTransport):
    """Passes requests to ``inner`` and records ``(method, path, status)`` of each; ``hook`` may
    look at (and hold) a response before the client gets it."""

    def __init__(self, inner: httpx.BaseTransport, hook=None) -> None:
        self.inner, self.hook = inner, hook
        self.seen: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        with self._lock:
            self.seen.append((request.method, request.url.path, response.status_code))
        if self.hook is not None:
            self.hook(request, response)
        return response

    def paths(self) -> list[tuple[str, str, int]]:
        with self._lock:
            return list(self.seen)


@pytest.fixture
def server_clock() -> SecondsClock:
    return SecondsClock()


@pytest.fixture
def make_app(tmp_path, server_clock):
    """``make_app(**config)``: the server app on a fresh migrated SQLite file."""
    from flipdeck.server.app import create_app
    from flipdeck.server.config import Config

    count = 0

    def build(**overrides):
        nonlocal count
        count += 1
        url = f"sqlite:///{tmp_path / f'server{count}.db'}"
        _migrate(url)
        settings = dict(
            database_url=url,
            secret_key=SECRET,
            password=FAST,
            limits=LOOSE,
            log_level="WARNING",
            clock=server_clock,
        )
        settings.update(overrides)
        return create_app(Config(**settings))

    return build


def signed_in(transport, *, register=True, name="alice", saved=None) -> ServerClient:
    client = ServerClient(
        BASE, transport=transport, on_tokens=(saved.append if saved is not None else None)
    )
    if register:
        client.register(name, f"{name}@example.com", STRONG_PASSWORD, "laptop")
    else:
        client.login(name, STRONG_PASSWORD, "phone")
    return client


def pull(client: ServerClient) -> messages.PullResponse:
    return client.pull(0, "device-1", 100)


# -- token refresh, in one place ----------------------------------------------------------------


def test_an_expired_access_token_is_refreshed_once_and_sent_again(make_app, server_clock):
    recorder = Recorder(httpx.WSGITransport(app=make_app()))
    saved = []
    client = signed_in(recorder, saved=saved)
    first = client.account
    assert saved == [first]

    server_clock.advance(15 * 60 + 10)  # past the access token's lifetime and the leeway
    page = pull(client)
    assert page.changes == []
    assert recorder.paths()[1:] == [
        ("GET", "/v1/sync/pull", 401),
        ("POST", "/v1/auth/refresh", 200),
        ("GET", "/v1/sync/pull", 200),
    ]
    assert client.requests == 4
    refreshed = client.account
    assert refreshed.access != first.access and refreshed.refresh != first.refresh
    assert saved == [first, refreshed]  # saved the moment it arrived

    pull(client)  # the new token is used from now on: no second refresh
    assert recorder.paths()[-1] == ("GET", "/v1/sync/pull", 200)
    assert len(recorder.paths()) == 5


def test_many_threads_with_a_spent_token_refresh_once(make_app, server_clock):
    threads = 8
    everyone_refused = threading.Barrier(threads, timeout=20)

    def hold_401s(request, response):
        # every thread has had its 401 before any of them may refresh: the worst case
        if request.url.path == "/v1/sync/pull" and response.status_code == 401:
            everyone_refused.wait()

    recorder = Recorder(httpx.WSGITransport(app=make_app()), hook=hold_401s)
    saved = []
    client = signed_in(recorder, saved=saved)
    server_clock.advance(15 * 60 + 10)

    results, errors = [], []

    def work():
        try:
            results.append(pull(client))
        except Exception as error:  # reported below
            errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert errors == [] and len(results) == threads
    seen = recorder.paths()
    assert seen.count(("POST", "/v1/auth/refresh", 200)) == 1
    assert sum(1 for s in seen if s[1] == "/v1/auth/refresh") == 1
    assert seen.count(("GET", "/v1/sync/pull", 401)) == threads
    assert seen.count(("GET", "/v1/sync/pull", 200)) == threads
    assert len(saved) == 2  # the sign-in and the one refresh
    assert client.requests == len(seen)


def test_a_revoked_device_needs_signing_in_again(make_app):
    recorder = Recorder(httpx.WSGITransport(app=make_app()))
    laptop = signed_in(recorder)
    phone = signed_in(recorder, register=False)
    devices = laptop._send("GET", "/v1/me/devices").json()["results"]
    (mine,) = [d["id"] for d in devices if d["current"]]
    phone._send("DELETE", f"/v1/me/devices/{mine}")  # signed out from another device (G12)

    before = len(recorder.paths())
    with pytest.raises(AuthRequired) as refused:
        pull(laptop)
    assert "revoked" in refused.value.message
    assert "flipdeck login" in refused.value.hint
    # no retry loop: the request, one refresh attempt, and that is all
    assert recorder.paths()[before:] == [
        ("GET", "/v1/sync/pull", 401),
        ("POST", "/v1/auth/refresh", 401),
    ]
    pull(phone)  # the other device is untouched


def test_not_signed_in_sends_nothing(make_app):
    recorder = Recorder(httpx.WSGITransport(app=make_app()))
    with pytest.raises(AuthRequired, match="not signed in"):
        pull(ServerClient(BASE, transport=recorder))
    assert recorder.paths() == []


# -- statuses become exceptions in one place ----------------------------------------------------


def test_problem_codes_become_rejected_codes(make_app):
    transport = httpx.WSGITransport(app=make_app())
    client = signed_in(transport)

    with pytest.raises(Rejected) as taken:
        ServerClient(BASE, transport=transport).register(
            "alice", "other@example.com", STRONG_PASSWORD, "x"
        )
    assert taken.value.code == "username_taken"

    with pytest.raises(Rejected) as weak:
        ServerClient(BASE, transport=transport).register("bob", "bob@example.com", "short", "x")
    assert weak.value.code == "validation_failed"
    assert "password" in weak.value.message and "12" in weak.value.message  # the field's reason

    bad = messages.Change("not an id!", "note", "row-1", "0" * 32, {})
    with pytest.raises(Rejected) as invalid:
        client.push(messages.PushRequest("device-1", [bad]), "key-1")
    assert invalid.value.code == "validation_failed"
    assert "changes/0/id" in invalid.value.message

    with pytest.raises(ProtocolMismatch):
        client.push(messages.PushRequest("device-1", [], protocol=99), "key-2")

    with pytest.raises(AuthRequired) as wrong:
        ServerClient(BASE, transport=transport).login("alice", "not the password!", "x")
    assert "wrong" in wrong.value.message and "invalid_credentials" in wrong.value.message


def test_a_replayed_push_counts_as_already_there(make_app):
    """A batch sent again with its key (a sync killed after the server stored it) is answered
    from the server's record; for this sync, none of it was new."""
    client = signed_in(httpx.WSGITransport(app=make_app()))
    change = messages.Change("change-1", "note", "row-1", "0" * 32, {"fields.x": "hola"})
    batch = messages.PushRequest("device-1", [change])
    first = client.push(batch, "key-1")
    assert (first.accepted, first.duplicates) == (1, 0)
    replayed = client.push(batch, "key-1")
    assert (replayed.accepted, replayed.duplicates) == (0, 1)
    fresh_key = client.push(batch, "key-2")  # the server knows the change id anyway
    assert (fresh_key.accepted, fresh_key.duplicates) == (0, 1)


def test_429_carries_retry_after(make_app):
    from flipdeck.server.config import Limits

    transport = httpx.WSGITransport(
        app=make_app(
            limits=Limits(auth_per_minute=1, user_per_hour=10**6, anonymous_per_hour=10**6)
        )
    )
    signed_in(transport)
    with pytest.raises(ServerUnavailable) as limited:
        ServerClient(BASE, transport=transport).login("alice", STRONG_PASSWORD, "x")
    assert "rate_limited" in limited.value.message
    assert limited.value.retry_after is not None and 0 < limited.value.retry_after <= 60


def test_503_carries_retry_after(make_app, tmp_path):
    app = make_app(database_url=f"sqlite:///{tmp_path / 'no-such-dir' / 'server.db'}")
    with pytest.raises(ServerUnavailable) as down:
        ServerClient(BASE, transport=httpx.WSGITransport(app=app)).login("a", "b" * 12, "x")
    assert "database_unavailable" in down.value.message
    assert down.value.retry_after == 5.0
    assert "5 s" in down.value.hint


def test_a_proxy_error_page_is_unavailable_without_its_html():
    def bad_gateway(request):
        return httpx.Response(
            502,
            text="<html><body><h1>502 Bad Gateway</h1></body></html>",
            headers={
                "Content-Type": "text/html",
                "Retry-After": formatdate(usegmt=True),
            },  # an HTTP date: "now"
        )

    client = ServerClient(BASE, ServerClientAccount(), transport=httpx.MockTransport(bad_gateway))
    with pytest.raises(ServerUnavailable) as unavailable:
        pull(client)
    assert "502" in unavailable.value.message
    assert "<" not in unavailable.value.message
    assert unavailable.value.retry_after is not None and unavailable.value.retry_after <= 1


def test_an_answer_off_the_protocol_is_rejected_not_a_crash():
    def garbage(request):
        return httpx.Response(200, json={"changes": "nope", "cursor": 1, "more": False})

    client = ServerClient(BASE, ServerClientAccount(), transport=httpx.MockTransport(garbage))
    with pytest.raises(Rejected) as rejected:
        pull(client)
    assert rejected.value.code == "invalid_response"


def ServerClientAccount():
    from flipdeck.sync.credentials import Account

    return Account(BASE, "alice", "u-1", "access", "refresh")


# -- the network failing ------------------------------------------------------------------------


def test_a_refused_connection_is_unavailable():
    port = free_port()  # nobody listens there
    client = ServerClient(f"http://127.0.0.1:{port}", ServerClientAccount())
    with pytest.raises(ServerUnavailable) as unreachable:
        pull(client)
    assert "unreachable" in unreachable.value.message
    assert "refused" in unreachable.value.message
    assert client.requests == 0


@contextlib.contextmanager
def listener(on_connection=None):
    """A loopback socket that accepts connections and hands each to ``on_connection`` (or, with
    none, never accepts: the kernel completes the handshake and nobody ever answers)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def serve():
        sock.settimeout(0.05)  # so that it notices ``stop``
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            on_connection(conn)

    thread = threading.Thread(target=serve, daemon=True) if on_connection else None
    if thread:
        thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        if thread:
            thread.join(5)
        sock.close()


def test_a_server_that_never_answers_times_out_as_unavailable():
    with listener() as port:
        client = ServerClient(
            f"http://127.0.0.1:{port}", ServerClientAccount(), timeout=httpx.Timeout(0.3)
        )
        with pytest.raises(ServerUnavailable) as late:
            pull(client)
    assert "unreachable" in late.value.message and "in time" in late.value.message


def test_a_server_hanging_up_mid_request_is_unavailable():
    def hang_up(conn):
        conn.recv(65536)
        conn.close()

    with listener(hang_up) as port:
        client = ServerClient(f"http://127.0.0.1:{port}", ServerClientAccount())
        with pytest.raises(ServerUnavailable) as lost:
            pull(client)
    assert "unreachable" in lost.value.message


def test_a_timeout_from_the_transport_is_unavailable():
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    client = ServerClient(BASE, ServerClientAccount(), transport=httpx.MockTransport(slow))
    with pytest.raises(ServerUnavailable, match="in time"):
        pull(client)


# -- accounting and the idle sync ---------------------------------------------------------------


def add_note(col, front: str):
    with col.transaction():
        deck = decks.ensure(col, "Default")
        return notes.add(col, notetypes.find(col, "Basic"), deck.id, [front, "back"])


def test_requests_and_bytes_are_counted(server_app):
    recorder = Recorder(httpx.WSGITransport(app=server_app))
    sizes = []

    def measure(request, response):
        sizes.append((len(request.content), int(response.headers["content-length"])))

    recorder.hook = measure
    client = signed_in(recorder)
    pull(client)
    assert client.requests == len(recorder.paths()) == 2
    bodies_sent = sum(s for s, _ in sizes)
    bodies_received = sum(r for _, r in sizes)
    # bodies plus request and status lines and headers (an Authorization header on the pull)
    assert bodies_sent + 2 * 60 < client.bytes_sent < bodies_sent + 2000
    assert bodies_received + 2 * 30 < client.bytes_received < bodies_received + 2000


def test_an_idle_sync_is_one_small_request(devices, server_app):
    recorder = Recorder(httpx.WSGITransport(app=server_app))
    a, b = devices(2, transport=recorder)
    _note, (card,) = add_note(a.col, "hola")
    with a.col.transaction():
        reviews.answer(a.col, card, 3)
    a.sync()
    b_first = b.sync()  # pulls A's changes and pushes its own
    assert b_first.pulled > 0 and b_first.pushed > 0
    a.sync()  # pulls B's

    for device in (a, b, a, b):  # up to date, whoever synced last
        before = len(recorder.paths())
        report = device.sync()
        assert recorder.paths()[before:] == [("GET", "/v1/sync/pull", 200)]
        assert report.requests == 1
        assert (report.pushed, report.pulled, report.merged) == (0, 0, 0)
        assert report.bytes_sent + report.bytes_received < 1024, report


# -- the byte count is what the wire carries ----------------------------------------------------


class Relay:
    """A loopback TCP relay to ``upstream`` that counts the bytes going each way."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.up = self.down = self.connections = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._start(self._accept)

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            with self._lock:
                self.connections += 1
            self._start(self._pipe, client, server, "up")
            self._start(self._pipe, server, client, "down")

    def _pipe(self, source, target, direction: str) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                with contextlib.suppress(OSError):
                    target.shutdown(socket.SHUT_WR)
                return
            with self._lock:  # counted before it is passed on: complete once answered
                setattr(self, direction, getattr(self, direction) + len(data))
            with contextlib.suppress(OSError):
                target.sendall(data)

    def counts(self) -> tuple[int, int, int]:
        with self._lock:
            return self.up, self.down, self.connections

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """flipdeck-server (gunicorn, 2 workers) on SQLite, as a subprocess."""
    root = tmp_path_factory.mktemp("client-live")
    env = server_env(
        f"sqlite:///{root / 'server.db'}", root / "home", FLIPDECK_PASSWORD_PROFILE="low-memory"
    )
    with live_server(env, root / "server.log", workers=2) as server:
        yield server


def test_the_counted_bytes_are_the_bytes_on_the_wire(live, tmp_path):
    from flipdeck.store.collection import Collection

    relay = Relay(live.port)
    through_relay = f"http://127.0.0.1:{relay.port}"
    try:
        with contextlib.ExitStack() as stack:
            cols, clients = [], []
            for n, register in enumerate((True, False)):
                (tmp_path / f"d{n}").mkdir()
                col = stack.enter_context(Collection.open(tmp_path / f"d{n}" / "c.db"))
                client = stack.enter_context(ServerClient(through_relay))
                if register:
                    client.register("wire", "wire@example.com", STRONG_PASSWORD, "d0")
                else:
                    client.login("wire", STRONG_PASSWORD, "d1")
                cols.append(col)
                clients.append(client)
            for i in range(20):
                add_note(cols[0], f"card {i}")

            measured = []
            for col, client in [
                (cols[0], clients[0]),
                (cols[1], clients[1]),
                (cols[0], clients[0]),
                (cols[1], clients[1]),
                (cols[0], clients[0]),
            ]:
                up, down, connections = relay.counts()
                report = SyncEngine(col, client).sync()
                up2, down2, connections2 = relay.counts()
                measured.append((report, up2 - up, down2 - down, connections2 - connections))
    finally:
        relay.close()

    for report, up, down, connections in measured:
        assert connections == report.requests  # gunicorn closes after each answer
        assert (report.bytes_sent, report.bytes_received) == (up, down)
    first, second = measured[0][0], measured[1][0]
    assert first.pushed > 20 and second.pulled > 20  # real work was counted too
    for report, up, down, _ in measured[3:]:  # both devices up to date: idle syncs
        assert report.requests == 1 and (report.pushed, report.pulled) == (0, 0)
        assert up + down < 1024, (up, down)
        print(f"idle sync on the wire: {up} B up + {down} B down = {up + down} B")


def test_a_large_pull_comes_compressed_and_counts_the_bytes_sent(server_app):
    """A pull page over ``COMPRESS_FROM`` bytes is gzip-compressed for a client that accepts it
    (httpx does), decodes to the very page, and the sync counts the bytes on the wire; a small
    page, or a client asking for ``identity``, gets the body as it is."""
    recorder = Recorder(httpx.WSGITransport(app=server_app))
    encodings = []
    recorder.hook = lambda request, response: encodings.append(
        (request.url.path, response.headers.get("content-encoding"))
    )
    client = signed_in(recorder)
    assert pull(client).changes == [] and encodings[-1] == ("/v1/sync/pull", None)
    changes = [
        messages.Change(f"c-{i}", "note", f"row-{i}", f"{i + 1:032x}", {"tags": "x" * 40})
        for i in range(200)
    ]
    client.push(messages.PushRequest("device-2", changes), "push-compression-test")
    before = client.bytes_received
    page = pull(client)
    assert encodings[-1] == ("/v1/sync/pull", "gzip")
    assert [c.change for c in page.changes] == changes[:100]
    plain = httpx.Client(transport=httpx.WSGITransport(app=server_app), base_url=BASE).get(
        "/v1/sync/pull",
        params={"after": 0, "device": "device-1", "limit": 100},
        headers={"Authorization": f"Bearer {client.account.access}", "Accept-Encoding": "identity"},
    )
    assert "content-encoding" not in plain.headers
    assert len(plain.content) > messages.COMPRESS_FROM
    assert messages.decode_pull_response(plain.content) == page
    assert client.bytes_received - before < len(plain.content) / 2


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip, deflate", True),
        ("br;q=1.0, GZIP;q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=nonsense", False),
        ("identity", False),
        ("deflate, br", False),
        ("", False),
    ],
)
def test_accept_encoding_is_read_as_rfc_9110_says(header, accepted):
    from flipdeck.server.resources.common import _accepts_gzip

    assert _accepts_gzip(header) is accepted


def test_pushes_go_compressed_once_the_server_says_it_takes_gzip(server_app):
    """RFC 7694: a push's answer says ``Accept-Encoding: gzip``; from then on a batch of 4 KB
    or more goes compressed, and the server stores exactly what was sent."""
    recorder = Recorder(httpx.WSGITransport(app=server_app))
    sent = []
    recorder.hook = lambda request, response: sent.append(
        (request.url.path, request.headers.get("content-encoding"), response.status_code)
    )
    client = signed_in(recorder)
    batches = [
        [
            messages.Change(f"c-{b}-{i}", "note", f"r-{b}-{i}", f"{b * 100 + i + 1:032x}", {})
            for i in range(100)
        ]
        for b in range(2)
    ]
    for number, batch in enumerate(batches):
        result = client.push(messages.PushRequest("device-2", batch), f"push-gzip-{number}")
        assert result.accepted == 100
    pushes = [(encoding, status) for path, encoding, status in sent if path == "/v1/sync/push"]
    assert pushes == [(None, 200), ("gzip", 200)]
    page = client.pull(0, "device-1", 500)
    assert [c.change for c in page.changes] == batches[0] + batches[1]

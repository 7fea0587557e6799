"""The sync screen: status as `sync --status` reports it, and a sync that runs in a worker
against the real server (in-process), after which the store has nothing left to send."""

from __future__ import annotations

import pytest

from flipdeck.sync.engine import pending
from flipdeck.tui.screens.sync import SyncScreen
from tests.tui.conftest import screen_text, settle

pytestmark = pytest.mark.anyio


@pytest.fixture
def no_keyring(monkeypatch):
    """Tokens go to the private file in FLIPDECK_HOME, never to a real keyring."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


async def test_not_signed_in_says_what_to_do(make, store, no_keyring):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, SyncScreen)
        text = screen_text(app)
        assert f"Pending changes  {pending(store)}" in text
        assert "flipdeck login --server URL" in text
        await pilot.press("s")
        await settle(pilot)
        assert "Not synced: not signed in." in screen_text(app)
        assert app.screen.running is False
    assert pending(store) > 0  # nothing lost


async def test_sync_sends_everything_to_the_server(make, store, no_keyring, tmp_path):
    from flipdeck.sync import credentials
    from flipdeck.sync.client import ServerClient
    from tests.server.conftest import STRONG_PASSWORD
    from tests.sync.conftest import BASE_URL, Server, make_server_url

    server = Server(make_server_url("sqlite", tmp_path, None))
    try:
        with ServerClient(BASE_URL, transport=server.transport()) as client:
            account = client.register("ana", "ana@example.com", STRONG_PASSWORD, "laptop")
        credentials.save(account)
        waiting = pending(store)

        def client_factory(account):
            return ServerClient(BASE_URL, account, transport=server.transport())

        app = make(client_factory=client_factory)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("y")
            await settle(pilot)
            await pilot.press("s")
            await settle(pilot)
            await settle(pilot)
            text = screen_text(app)
            assert f"Synced: {waiting} change(s) sent" in text
            assert "Account          ana" in text
            assert "Pending changes  0" in text
        assert pending(store) == 0
        assert server.count_changes() == waiting
    finally:
        server.close()


async def test_the_app_stays_live_while_a_sync_waits_on_the_network(
    make, store, no_keyring, tmp_path
):
    """The sync runs in a thread: while its request is held up, keys still work."""
    import threading

    import httpx

    from flipdeck.sync import credentials
    from flipdeck.sync.client import ServerClient
    from tests.server.conftest import STRONG_PASSWORD
    from tests.sync.conftest import BASE_URL, Server, make_server_url

    gate = threading.Event()

    class HeldTransport(httpx.BaseTransport):
        """Forwards each request once the test opens the gate."""

        def __init__(self, inner):
            self.inner = inner

        def handle_request(self, request):
            gate.wait(10)
            return self.inner.handle_request(request)

    server = Server(make_server_url("sqlite", tmp_path, None))
    try:
        with ServerClient(BASE_URL, transport=server.transport()) as client:
            credentials.save(client.register("bob", "bob@example.com", STRONG_PASSWORD, "pc"))
        app = make(
            client_factory=lambda account: ServerClient(
                BASE_URL, account, transport=HeldTransport(server.transport())
            )
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("y")
            await settle(pilot)
            sync_screen = app.screen
            await pilot.press("s")
            await pilot.pause()
            assert sync_screen.running
            await pilot.press("d")  # the interface answers while the sync is held up
            await pilot.pause()
            assert app.current_mode == "decks"
            gate.set()
            await settle(pilot)
            assert not sync_screen.running
        assert pending(store) == 0
    finally:
        gate.set()
        server.close()

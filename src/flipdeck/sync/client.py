"""Provides :class:`ServerClient`: the one httpx client to the server.

Token refresh happens in one place (:meth:`ServerClient._send`): an access token the server
rejects is refreshed once, single-flight, and the request retried; a refreshed pair is saved at
once, so a crash never strands a device with a spent refresh token. HTTP statuses become
exceptions in one function, keyed by the problem document's ``code``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from flipdeck.protocol import messages
from flipdeck.sync.credentials import Account
from flipdeck.sync.errors import AuthRequired, ProtocolMismatch, Rejected, ServerUnavailable

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def raise_for_status(response: httpx.Response) -> None:
    """The exception a response stands for, if it is an error."""
    if response.status_code < 400:
        return
    try:
        problem = response.json()
        code, detail = problem.get("code", ""), problem.get("detail", "")
    except ValueError:
        code, detail = "", response.text[:200]
    status = response.status_code
    if status == 401:
        raise AuthRequired(
            f"the server refused the sign-in ({code or status})",
            hint="Sign in again with `flipdeck login`.",
        )
    retry = response.headers.get("Retry-After")
    if status in (429, 503) or status >= 500:
        raise ServerUnavailable(
            f"the server is unavailable ({code or status}): {detail}",
            retry_after=float(retry) if retry and retry.isdigit() else None,
        )
    if code == "protocol_mismatch":
        raise ProtocolMismatch(detail, hint="Upgrade flipdeck or the server.")
    raise Rejected(f"the server refused the request: {detail or status}", code or str(status))


class ServerClient:
    """Talks to one server, as one account (or anonymously, to sign in)."""

    def __init__(
        self,
        server: str,
        account: Account | None = None,
        *,
        on_tokens: Callable[[Account], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.account = account
        self._on_tokens = on_tokens
        self._lock = threading.Lock()
        self.requests = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self._http = httpx.Client(
            base_url=self.server,
            timeout=TIMEOUT,
            transport=transport,
            headers={"User-Agent": "flipdeck"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transport --------------------------------------------------------------------------

    def _raw(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: dict | None = None,
        headers: dict | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        headers = dict(headers or {})
        if body is not None:
            headers["Content-Type"] = "application/json"
        if auth and self.account is not None:
            headers["Authorization"] = f"Bearer {self.account.access}"
        try:
            response = self._http.request(
                method, path, content=body, params=params, headers=headers
            )
        except httpx.TimeoutException:
            raise ServerUnavailable(f"{self.server} did not answer in time") from None
        except httpx.TransportError as error:
            raise ServerUnavailable(
                f"cannot reach {self.server} ({type(error).__name__})"
            ) from None
        self.requests += 1
        request = response.request
        self.bytes_sent += _request_size(request)
        self.bytes_received += _response_size(response)
        return response

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        """A request as the signed-in account, refreshing the access token once if needed."""
        if self.account is None:
            raise AuthRequired("not signed in", hint="Sign in with `flipdeck login`.")
        used = self.account.access
        response = self._raw(method, path, **kwargs)
        if response.status_code == 401:
            self._refresh(used)
            response = self._raw(method, path, **kwargs)
        raise_for_status(response)
        return response

    def _refresh(self, rejected_access: str) -> None:
        """Single-flight: only the first caller whose token was rejected refreshes."""
        with self._lock:
            assert self.account is not None
            if self.account.access != rejected_access:
                return  # another thread refreshed meanwhile
            response = self._raw(
                "POST",
                "/v1/auth/refresh",
                body=_json({"refresh": self.account.refresh}),
                auth=False,
            )
            raise_for_status(response)
            self._adopt(response.json())

    def _adopt(self, pair: dict) -> Account:
        user = pair["user"]
        self.account = Account(
            self.server, user["username"], user["id"], pair["access"], pair["refresh"]
        )
        if self._on_tokens is not None:
            self._on_tokens(self.account)
        return self.account

    # -- accounts ---------------------------------------------------------------------------

    def register(self, username: str, email: str, password: str, device: str) -> Account:
        response = self._raw(
            "POST",
            "/v1/auth/register",
            auth=False,
            body=_json(
                {"username": username, "email": email, "password": password, "device_name": device}
            ),
        )
        raise_for_status(response)
        return self._adopt(response.json())

    def login(self, login: str, password: str, device: str) -> Account:
        field = "email" if "@" in login else "username"
        response = self._raw(
            "POST",
            "/v1/auth/login",
            auth=False,
            body=_json({field: login, "password": password, "device_name": device}),
        )
        raise_for_status(response)
        return self._adopt(response.json())

    def logout(self) -> None:
        self._send("POST", "/v1/auth/logout")

    def me(self) -> dict:
        return self._send("GET", "/v1/me").json()

    # -- sync -------------------------------------------------------------------------------

    def push(self, request: messages.PushRequest, key: str) -> messages.PushResponse:
        response = self._send(
            "POST",
            "/v1/sync/push",
            body=messages.encode_push(request),
            headers={"Idempotency-Key": key},
        )
        return messages.decode_push_response(response.content)

    def pull(self, after: int, device: str, limit: int) -> messages.PullResponse:
        response = self._send(
            "GET", "/v1/sync/pull", params={"after": after, "device": device, "limit": limit}
        )
        return messages.decode_pull_response(response.content)


def _json(value: dict) -> bytes:
    import json

    return json.dumps(value).encode()


def _request_size(request: httpx.Request) -> int:
    head = f"{request.method} {request.url.raw_path.decode()} HTTP/1.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in request.headers.items()) + "\r\n"
    return len(head.encode()) + len(request.content or b"")


def _response_size(response: httpx.Response) -> int:
    head = f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in response.headers.items()) + "\r\n"
    return len(head.encode()) + len(response.content)

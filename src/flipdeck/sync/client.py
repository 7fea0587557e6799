"""Provides :class:`ServerClient`: the one httpx client to the server.

Token refresh happens in one place (:meth:`ServerClient._send`): an access token the server
rejects is refreshed once, single-flight, and the request retried; a refreshed pair is saved at
once, so a crash never strands a device with a spent refresh token. HTTP statuses become
exceptions in one function, keyed by the problem document's ``code``.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable

import httpx

from flipdeck.protocol import messages
from flipdeck.sync.credentials import Account
from flipdeck.sync.errors import AuthRequired, ProtocolMismatch, Rejected, ServerUnavailable

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


_AUTH_MESSAGES = {
    "invalid_credentials": "wrong username, e-mail address or password",
    "invalid_refresh_token": "this device's sign-in has expired or was revoked",
    "invalid_token": "the server did not accept this device's sign-in",
    "authentication_required": "the server did not accept this device's sign-in",
}


def _problem(response: httpx.Response) -> tuple[str, str]:
    """``(code, detail)`` of an RFC 9457 body; ``("", "")`` for anything else (an HTML page
    from a proxy, say), so no markup ends up in a message."""
    try:
        problem = response.json()
    except ValueError:
        return "", ""
    if not isinstance(problem, dict):
        return "", ""
    code, detail = problem.get("code"), problem.get("detail")
    code = code if isinstance(code, str) else ""
    detail = detail if isinstance(detail, str) else ""
    errors = problem.get("errors")
    if isinstance(errors, list):
        parts = [
            f"{e.get('pointer', '').lstrip('/#') or 'request'} {e.get('detail', '')}".strip()
            for e in errors
            if isinstance(e, dict)
        ]
        if parts:
            detail = "; ".join(parts)
    return code, detail


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    import time

    return max(0.0, when.timestamp() - time.time())


def raise_for_status(response: httpx.Response) -> None:
    """The exception a response stands for, if it is an error (one place for every status)."""
    status = response.status_code
    if status < 400:
        return
    code, detail = _problem(response)
    if status == 401:
        raise AuthRequired(
            f"{_AUTH_MESSAGES.get(code, 'the server refused the sign-in')} ({code or status})",
            hint="Check them and try again."
            if code == "invalid_credentials"
            else "Sign in again with `flipdeck login`.",
        )
    if status in (429, 503) or status >= 500 or code == "idempotency_key_in_use":
        wait = _retry_after(response.headers.get("Retry-After"))
        raise ServerUnavailable(
            f"the server is unavailable ({code or f'HTTP {status}'})"
            + (f": {detail}" if detail else ""),
            hint=(f"Try again in {wait:.0f} s; " if wait else "Try again later; ")
            + "your collection is unchanged.",
            retry_after=wait,
        )
    if code == "protocol_mismatch":
        raise ProtocolMismatch(
            detail or "the server speaks another sync protocol",
            hint="Upgrade flipdeck or the server.",
        )
    raise Rejected(
        f"the server refused the request: {detail or f'HTTP {status}'}", code or str(status)
    )


class ServerClient:
    """Talks to one server, as one account (or anonymously, to sign in)."""

    def __init__(
        self,
        server: str,
        account: Account | None = None,
        *,
        on_tokens: Callable[[Account], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        self.server = server.rstrip("/")
        self.account = account
        self._on_tokens = on_tokens
        self._lock = threading.Lock()  # one refresh at a time
        self._counting = threading.Lock()
        self.requests = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self._server_takes_gzip = False  # learnt from a push's answer
        self._http = httpx.Client(
            base_url=self.server,
            timeout=timeout,
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
        token: str | None = None,
    ) -> httpx.Response:
        """One request, counted; transport failures become :class:`ServerUnavailable`."""
        headers = dict(headers or {})
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self._http.request(
                method, path, content=body, params=params, headers=headers
            )
        except httpx.TimeoutException:
            raise ServerUnavailable(
                f"the server at {self.server} is unreachable (it did not answer in time)"
            ) from None
        except httpx.TransportError as error:
            raise ServerUnavailable(
                f"the server at {self.server} is unreachable ({_reason(error)})"
            ) from None
        sent, received = _request_size(response.request), _response_size(response)
        with self._counting:
            self.requests += 1
            self.bytes_sent += sent
            self.bytes_received += received
        return response

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        """A request as the signed-in account: the one place tokens are refreshed. A 401 means
        the access token is spent (expired or revoked): it is refreshed once — single-flight,
        however many threads got the 401 — and the request sent again; a second 401, or a
        refused refresh, is :class:`AuthRequired`."""
        account = self.account
        if account is None:
            raise AuthRequired("not signed in", hint="Sign in with `flipdeck login`.")
        response = self._raw(method, path, token=account.access, **kwargs)
        if response.status_code == 401:
            fresh = self._refresh(account.access)
            response = self._raw(method, path, token=fresh.access, **kwargs)
        raise_for_status(response)
        return response

    def _refresh(self, rejected_access: str) -> Account:
        """The account with a fresh token pair; only the first caller whose token was rejected
        asks the server, the others get what it got."""
        with self._lock:
            account = self.account
            assert account is not None
            if account.access != rejected_access:
                return account  # another thread refreshed meanwhile
            response = self._raw(
                "POST", "/v1/auth/refresh", body=_json({"refresh": account.refresh})
            )
            raise_for_status(response)
            return self._adopt(response)

    def _adopt(self, response: httpx.Response) -> Account:
        """Take the token pair of a sign-in or refresh answer, and save it at once."""
        try:
            pair = response.json()
            user = pair["user"]
            account = Account(
                self.server, user["username"], user["id"], pair["access"], pair["refresh"]
            )
        except (ValueError, KeyError, TypeError):
            raise Rejected(
                "the server's sign-in answer is not understood", "invalid_response"
            ) from None
        self.account = account
        if self._on_tokens is not None:
            self._on_tokens(account)
        return account

    # -- accounts ---------------------------------------------------------------------------

    def register(self, username: str, email: str, password: str, device: str) -> Account:
        response = self._raw(
            "POST",
            "/v1/auth/register",
            body=_json(
                {"username": username, "email": email, "password": password, "device_name": device}
            ),
        )
        raise_for_status(response)
        return self._adopt(response)

    def login(self, login: str, password: str, device: str) -> Account:
        field = "email" if "@" in login else "username"
        response = self._raw(
            "POST",
            "/v1/auth/login",
            body=_json({field: login, "password": password, "device_name": device}),
        )
        raise_for_status(response)
        return self._adopt(response)

    def logout(self) -> None:
        self._send("POST", "/v1/auth/logout")

    def me(self) -> dict:
        return self._send("GET", "/v1/me").json()

    # -- sync -------------------------------------------------------------------------------

    def push(self, request: messages.PushRequest, key: str) -> messages.PushResponse:
        body, encoding = self.push_payload(messages.encode_push(request))
        return self.push_body(body, key, encoding)

    def push_payload(self, body: bytes) -> tuple[bytes, str | None]:
        """A push body as it should travel, and its content coding.

        Once a push's answer has said the server takes gzip (``Accept-Encoding``, RFC 7694),
        bodies of 4 KB or more go compressed (a batch of 2,000 changes: about a third of the
        bytes); a server that never says so gets them as they are. The engine calls this while
        the previous batch is in flight, so compressing costs no time of its own.
        """
        if self._server_takes_gzip and len(body) >= messages.COMPRESS_FROM:
            return gzip.compress(body, compresslevel=1, mtime=0), "gzip"
        return body, None

    def push_body(
        self, body: bytes, key: str, encoding: str | None = None
    ) -> messages.PushResponse:
        """Push an encoded :class:`~flipdeck.protocol.messages.PushRequest` (the engine splices
        its outbox's stored JSON with :func:`~flipdeck.protocol.messages.encode_push_json`),
        compressed as ``encoding`` says (see :meth:`push_payload`). A retry must send the same
        changes under the same key: the server fingerprints them."""
        headers = {"Idempotency-Key": key}
        if encoding is not None:
            headers["Content-Encoding"] = encoding
        response = self._send("POST", "/v1/sync/push", body=body, headers=headers)
        if "gzip" in response.headers.get("Accept-Encoding", "").lower():
            self._server_takes_gzip = True
        result = _decode(messages.decode_push_response, response)
        if response.headers.get("Idempotent-Replayed") == "true":
            # the server stored this very batch before (its answer was lost, or the sync was
            # killed before it was marked sent): for this sync, all of it was already there
            return messages.PushResponse(0, result.accepted + result.duplicates, result.cursor)
        return result

    def pull(self, after: int, device: str, limit: int) -> messages.PullResponse:
        response = self._send(
            "GET", "/v1/sync/pull", params={"after": after, "device": device, "limit": limit}
        )
        return _decode(messages.decode_pull_response, response)


def _decode(decoder, response: httpx.Response):
    """A sync answer decoded, or :class:`Rejected` if it does not follow the contract (a
    proxy's page, a broken server): never a traceback, and nothing applied."""
    try:
        return decoder(response.content)
    except messages.ProtocolError as error:
        raise Rejected(
            f"the server's answer does not follow the sync protocol ({error})",
            "invalid_response",
        ) from None


def _reason(error: httpx.TransportError) -> str:
    """A short human reason for a transport failure."""
    text = str(error).lower()
    if isinstance(error, httpx.ConnectError):
        if "refused" in text:
            return "connection refused"
        if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
            return "unknown host"
        return "cannot connect"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the connection was closed mid-answer"
    if isinstance(error, httpx.ReadError | httpx.WriteError):
        return "the connection was lost"
    return type(error).__name__


def _json(value: dict) -> bytes:
    import json

    return json.dumps(value).encode()


def _request_size(request: httpx.Request) -> int:
    head = f"{request.method} {request.url.raw_path.decode()} HTTP/1.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in request.headers.items()) + "\r\n"
    return len(head.encode()) + len(request.content or b"")


def _response_size(response: httpx.Response) -> int:
    """The bytes that came over the wire: the head, and the body as sent (compressed)."""
    head = f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in response.headers.items()) + "\r\n"
    response.read()
    return len(head.encode()) + response.num_bytes_downloaded

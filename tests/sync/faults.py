"""Provides :class:`FaultyTransport`: an ``httpx`` transport that loses or repeats sync requests
on the test's command.

It wraps the real in-process transport (``httpx.WSGITransport`` around the server app) and, for
the next request to a sync route, can

* **drop the request**: raise ``httpx.ConnectError`` before anything reaches the server;
* **drop the response**: let the server process the request fully, then raise
  ``httpx.ReadError`` as if the connection broke on the way back;
* **duplicate** it: send it twice (the second copy after the first was fully processed) and
  return the second response, as a proxy that retries would;
* **restart the server** just before it arrives (given a ``restart`` callable), so the
  requests of one sync meet two server processes.

A fault is armed for a route prefix (optionally letting some matching requests through first,
to hit the third page of a pull) and fires once; :attr:`log` records what each request went
through, so a test can tell whether an armed fault fired.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import httpx


class Fault(enum.Enum):
    """What to do to one request."""

    DROP_REQUEST = "drop-request"
    DROP_RESPONSE = "drop-response"
    DUPLICATE = "duplicate"
    RESTART = "restart"


@dataclass
class Sent:
    """One request as the transport saw it: where it went, the fault it met, how many copies
    reached the server."""

    method: str
    path: str
    fault: Fault | None
    delivered: int


class FaultyTransport(httpx.BaseTransport):
    """Forwards to ``inner``, except that an armed fault hits the next matching request."""

    def __init__(self, inner: httpx.BaseTransport, restart=None) -> None:
        self.inner = inner
        self.restart = restart
        self._armed: list[list] = []  # [path prefix, fault, matching requests to let pass]
        self.log: list[Sent] = []

    def arm(self, fault: Fault, path: str = "/v1/sync/", *, skip: int = 0) -> None:
        """Hit the next request whose path starts with ``path`` with ``fault`` (after letting
        ``skip`` such requests through)."""
        self._armed.append([path, fault, skip])

    def disarm(self) -> list[Fault]:
        """Forget faults that did not fire; returns them."""
        left = [fault for _path, fault, _skip in self._armed]
        self._armed.clear()
        return left

    @property
    def armed(self) -> bool:
        """Whether a fault is waiting for a request."""
        return bool(self._armed)

    def _take(self, path: str) -> Fault | None:
        for i, armed in enumerate(self._armed):
            prefix, fault, skip = armed
            if path.startswith(prefix):
                if skip:
                    armed[2] -= 1
                    continue
                del self._armed[i]
                return fault
        return None

    def _forward(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()  # the server has finished with the request once its body is read
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._take(request.url.path)
        sent = Sent(request.method, request.url.path, fault, 0)
        self.log.append(sent)
        if fault is Fault.DROP_REQUEST:
            raise httpx.ConnectError("injected: the request was lost", request=request)
        if fault is Fault.RESTART:
            assert self.restart is not None, "a RESTART fault needs a restart callable"
            self.restart()
        response = self._forward(request)
        sent.delivered = 1
        if fault is Fault.DROP_RESPONSE:
            response.close()
            raise httpx.ReadError("injected: the response was lost", request=request)
        if fault is Fault.DUPLICATE:
            response.close()
            response = self._forward(request)
            sent.delivered = 2
        return response

    def close(self) -> None:
        self.inner.close()

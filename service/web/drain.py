"""Early answers (413, 400, 401 …) on a keep-alive connection: drain the unread body, or say we close.

An answer given before the body was read leaves that body on the socket. gunicorn drains at most
64 KiB of it after the response, and closes the connection when more is left — after having told the
client `Connection: keep-alive`; the client's next request on that connection then gets no answer.
This middleware reads the rest of a body up to a bound before the answer goes out, so the connection
stays usable; a body past the bound (or one that trickles in too slowly) is left, and the answer says
`Connection: close` instead, so the client opens a new connection for its next request.

It also bounds each wait for the next bytes of a request body (`BODY_SECONDS`): a client that sends
headers and then stops sending would otherwise hold one of the server's threads for as long as it likes
(gunicorn's own timeout watches the worker process, not a thread). The read then fails, the app answers
408 and the connection closes. The bound is per wait, not for the whole body: a client trickling a
byte every few seconds is not cut short here (docs/security.md: the Ingress's buffering is what absorbs
it). It is lifted before the answer is written, so a slow reader of a large answer is not cut off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

# A client that sends a 1 MiB body to a 64 KiB endpoint is answered on a connection that stays open;
# beyond this it costs us more to read than to reconnect.
DRAIN_BYTES = 1024 * 1024
DRAIN_SECONDS = 2.0
# Longest wait for the next bytes of a request: a portal's event (a few KiB) arrives in one go.
BODY_SECONDS = 10.0
TIMED_OUT = "b24rules.body_timed_out"  # environ key: the app gave up on the body, the answer closes
_CHUNK = 64 * 1024

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class DrainUnreadBody:
    """WSGI middleware: after the app answered, the request body is read to its end or the answer closes."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        limit: int = DRAIN_BYTES,
        seconds: float = DRAIN_SECONDS,
        read_seconds: float = BODY_SECONDS,
    ) -> None:
        self._app = app
        self._limit = limit
        self._seconds = seconds
        self._read_seconds = read_seconds

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        sock = bound_reads(environ, self._read_seconds)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # Runs before gunicorn sends the status line, so the close can still be announced.
            if environ.get(TIMED_OUT) or not drained(environ.get("wsgi.input"), self._limit, self._seconds):
                announce_close(start_response)
            if sock is not None:
                sock.settimeout(None)  # the answer is written with no bound of ours
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self._app(environ, start)


def bound_reads(environ: dict[str, Any], seconds: float) -> Any:
    """Make each read of this request's socket give up after `seconds` of silence; the socket, or None
    (gunicorn hands the app its socket; other servers have their own limits). gunicorn sets the socket
    blocking again for each request, so the bound is set per request."""
    sock = environ.get("gunicorn.socket")
    if sock is None or not hasattr(sock, "settimeout"):
        return None
    sock.settimeout(seconds)
    return sock


def drained(body: Any, limit: int, seconds: float) -> bool:
    """Read and discard what is left of `body`; True when its end was reached within the bounds."""
    if body is None or not hasattr(body, "read"):
        return True
    deadline = time.monotonic() + seconds
    read = 0
    try:
        while read <= limit and time.monotonic() < deadline:
            chunk = body.read(_CHUNK)
            if not chunk:
                return True
            read += len(chunk)
    except (OSError, ValueError):  # the client went away or sent a broken chunk: nothing to keep
        return False
    return False


def announce_close(start_response: StartResponse) -> None:
    """Make gunicorn answer `Connection: close` (its Response owns start_response; other servers
    close on their own terms and have nothing to tell)."""
    response = getattr(start_response, "__self__", None)
    force_close = getattr(response, "force_close", None)
    if callable(force_close):
        force_close()

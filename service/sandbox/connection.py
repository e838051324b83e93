"""Answers that never arrive: the portal (or a proxy in front of it) drops the connection.

Two injected faults end a request without an HTTP answer (see faults.py):
- ``reset``: the connection is reset (TCP RST) before the method runs — nothing happened;
- ``lost``: the method ran (an entry may be deleted), then the connection is closed without a reply.
The client cannot tell them apart; both are "outcome unknown" to it.

The view marks the WSGI environ; ``drop_middleware`` turns the mark into ``ConnectionDropped``, which
werkzeug's request handler treats as a dropped connection (no 500, no log); ``DroppingRequestHandler``
then closes the socket: with SO_LINGER 0 (an RST) for a reset, plainly for a lost answer.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

from werkzeug.serving import WSGIRequestHandler

DROP_KEY = "sandbox.drop_connection"  # WSGI environ key: "reset" | "lost"
RESET = "reset"
LOST = "lost"


class ConnectionDropped(ConnectionAbortedError):
    """Raised out of the WSGI app so the server sends nothing back."""

    def __init__(self, how: str) -> None:
        super().__init__(f"sandbox dropped the connection ({how})")
        self.how = how


WSGIApp = Any  # a WSGI callable (werkzeug's own alias is private)


def drop_middleware(app: WSGIApp) -> WSGIApp:
    """Wrap a WSGI app: a request whose environ carries ``DROP_KEY`` gets no answer at all."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = app(environ, start_response)
        how = environ.get(DROP_KEY)
        if how is None:
            return body  # type: ignore[no-any-return]
        close = getattr(body, "close", None)
        if close is not None:
            close()
        raise ConnectionDropped(str(how))

    return wrapped


class DroppingRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, closing the socket the way a dropped request asks for."""

    _dropped: str | None = None

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        if isinstance(error, ConnectionDropped):
            self._dropped = error.how
            self.close_connection = True

    def finish(self) -> None:
        super().finish()  # closes rfile/wfile, so closing the socket below really closes it
        if self._dropped is None:
            return
        with suppress(OSError):  # the client may have gone already
            if self._dropped == RESET:
                # Linger on, timeout 0: close() aborts the connection with an RST instead of a FIN.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()

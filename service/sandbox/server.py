"""Serving the sandbox: ``SandboxServer`` (background thread, for tests) and ``run_sandbox`` (blocking).

Both use werkzeug's threaded server on loopback. ``seed_demo`` creates the demo data the README
walk-through uses: task 691 with entries of 0, 0, 60 and 3600 seconds and completed task 693.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from .app import create_sandbox_app
from .connection import DroppingRequestHandler
from .portal import Portal
from .sender import EventSender, EventTarget

SAMPLE_HINT = (
    "curl -sS -X POST -H 'Content-Type: application/x-www-form-urlencoded' "
    "--data-binary @tests/sandbox/samples/ontaskupdate-webhook.form http://127.0.0.1:8080/bitrix24/events"
)


def seed_demo(portal: Portal) -> None:
    """Task 691 (in progress) with 0, 0, 60 and 3600 s entries; task 693 completed (to reopen)."""
    with portal.lock:
        portal.add_user(503, "Maria", "Johnson", "maria@example.com")
        portal.create_task(
            "Prepare the quarterly report", task_id=691, status=3, responsible_id=503, tags=["report"],
            entries=[
                {"seconds": 0, "user_id": 503, "comment": "timer started and stopped"},
                {"seconds": 0, "user_id": 1, "comment": "empty entry"},
                {"seconds": 60, "user_id": 503, "comment": "a minute"},
                {"seconds": 3600, "user_id": 503, "comment": "an hour of work"},
            ],
        )  # fmt: skip
        portal.create_task(
            "Ship the release", task_id=693, responsible_id=503,
            entries=[{"seconds": 1800, "user_id": 503, "comment": "before completion"}],
        )  # fmt: skip
        portal.set_status(693, "complete", user_id=503)


_seed = seed_demo  # ``run_sandbox`` has a parameter of the same name


class _QuietHandler(DroppingRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class SandboxServer:
    """Runs a sandbox portal on ``host`` (port 0: any free port) in a daemon thread.

    >>> with SandboxServer() as sandbox:
    ...     sandbox.webhook_url   # http://127.0.0.1:PORT/rest/1/sandbox/
    """

    def __init__(
        self,
        portal: Portal | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        sender: EventSender | None = None,
        quiet: bool = True,
        **portal_kwargs: Any,
    ) -> None:
        self.portal = portal or Portal(**portal_kwargs)
        self.sender = sender or EventSender()
        self.app = create_sandbox_app(self.portal, self.sender)
        handler = _QuietHandler if quiet else DroppingRequestHandler
        self._server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=handler
        )
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/rest/1/{self.portal.admin_code}/"

    def webhook_url_for(self, user_id: int, code: str) -> str:
        return f"{self.url}/rest/{user_id}/{code}/"

    def add_event_target(self, url: str, handler_id: int = 17, **kwargs: Any) -> EventTarget:
        cfg = self.portal.config
        target = EventTarget(
            url, handler_id, kwargs.pop("application_token", cfg.application_token),
            kwargs.pop("member_id", cfg.member_id), kwargs.pop("domain", cfg.domain), kwargs.pop("app", None),
        )  # fmt: skip
        self.sender.targets.append(target)
        return target

    def share_oauth(self, *others: SandboxServer) -> None:
        """Let this server's /oauth/token/ renew the other portals' tokens too (one OAuth server)."""
        self.portal.oauth_peers.extend((other.portal, other.url + "/") for other in others)

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="sandbox-portal", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.portal.wake.set()  # release injected hangs
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 8090,
    *,
    seed_demo: bool = True,
    admin_code: str = "sandbox",
    handler_url: str | None = None,
    rate: float = 2.0,
    burst: float = 50.0,
    seed: int | None = 0,
) -> None:
    """Serve a sandbox portal until interrupted (the ``b24rules sandbox`` command)."""
    server = SandboxServer(host=host, port=port, quiet=False, admin_code=admin_code, seed=seed)
    server.portal.configure(rate=rate, burst=burst)
    if seed_demo:
        _seed(server.portal)
    if handler_url:
        server.add_event_target(handler_url)
    cfg = server.portal.config
    print(f"Sandbox Bitrix24 portal (an emulator, not a real portal) at {server.url}")
    print(f"  B24_WEBHOOK_URL={server.webhook_url}")
    print(f"  B24_APPLICATION_TOKEN={cfg.application_token}  B24_MEMBER_ID={cfg.member_id}")
    if seed_demo:
        print("  demo: task 691 has entries of 0, 0, 60 and 3600 s; task 693 is completed (reopen it with")
        print(f"        curl -X POST -H 'Content-Type: application/json' -d '{{\"status\":\"renew\"}}' "
              f"{server.url}/_sandbox/tasks/693/status)")  # fmt: skip
    print(f"  post a sample event to the service: {SAMPLE_HINT}")
    print(f"  control API: {server.url}/_sandbox/   (Ctrl+C stops)")
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._server.server_close()

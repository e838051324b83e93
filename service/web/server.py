"""Running the web half under gunicorn, configured from Settings (no gunicorn.conf.py to forget)."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from service.plumbing import metrics
from service.plumbing.settings import Settings
from service.web.app import close_app


class WebServer(BaseApplication):  # type: ignore[misc]
    """gunicorn around an app factory; `make_app` runs in each worker after the fork."""

    def __init__(self, make_app: Callable[[], Flask], options: dict[str, Any]) -> None:
        self._make_app = make_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Called in each worker after the fork: every process gets its own engine and rule source.
        return self._make_app()


def gunicorn_options(settings: Settings, *, on_exit: Callable[[Any], None] | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bind": f"0.0.0.0:{settings.port}",
        "workers": settings.b24_workers,
        "worker_class": "gthread",
        # Each request waits in its thread for the group commit that stores its event (web/intake.py). At a
        # steady 500 events/s a stall of the database (serve's worker holding SQLite's write lock, a slow
        # fsync) kept all 16 threads of a process waiting, and the requests behind them queued unserved:
        # bench/ingest/steady measured serve's p99 at 506 ms with 16 threads, 143-188 ms with 64, in the
        # same period (docs/performance.md). Bare Flask gets the same count (bench/ingest compares them).
        "threads": 64,
        "timeout": 30,
        "graceful_timeout": 20,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        # Every object the master made so far is kept out of the collector's generations: its passes in
        # a web process would write to those objects' pages, copying them out of the shared memory.
        "pre_fork": lambda _server, _worker: gc.freeze(),
        "child_exit": lambda _server, worker: metrics.process_exited(worker.pid),
        # In the worker, once it has stopped serving: commit what the intake still holds.
        "worker_exit": lambda _server, worker: close_app(getattr(worker, "wsgi", None)),
        "limit_request_line": 8190,
        # gunicorn's runtime control socket would be written under $HOME (read-only in our image).
        "control_socket_disable": True,
    }
    shm = "/dev/shm"  # noqa: S108 (gunicorn's heartbeat files, off a possibly read-only root fs)
    if os.path.isdir(shm):
        options["worker_tmp_dir"] = shm
    if on_exit is not None:
        options["on_exit"] = on_exit
    return options

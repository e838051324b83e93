"""The baseline: a bare Flask endpoint answering 200, served by gunicorn with b24rules' own options."""

from __future__ import annotations

import sys
from typing import Any

from flask import Flask, jsonify

from service.plumbing.settings import load_settings
from service.web.server import WebServer, gunicorn_options


def create_bare_app() -> Flask:
    app = Flask("bare")

    @app.post("/bitrix24/events")
    def receive() -> Any:
        return jsonify(status="queued", id=1)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok")

    return app


if __name__ == "__main__":
    settings = load_settings(port=int(sys.argv[1]))
    options = gunicorn_options(settings)
    options.pop("child_exit", None)  # b24rules' metrics clean-up; nothing to clean here
    # b24rules' own gunicorn application (service.web.server), serving the bare app instead of ours.
    WebServer(create_bare_app, options).run()

"""The baseline: a bare Flask endpoint answering 200, served by gunicorn with b24rules' own options."""

from __future__ import annotations

import sys
from typing import Any

from flask import Flask, jsonify
from gunicorn.app.base import BaseApplication

from service.config import load_settings
from service.web.server import gunicorn_options


def create_bare_app() -> Flask:
    app = Flask("bare")

    @app.post("/bitrix24/events")
    def receive() -> Any:
        return jsonify(status="queued", id=1)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok")

    return app


class BareServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return create_bare_app()


if __name__ == "__main__":
    options = gunicorn_options(load_settings(port=int(sys.argv[1])))
    options.pop("child_exit", None)  # b24rules' metrics clean-up; nothing to clean here
    BareServer(options).run()

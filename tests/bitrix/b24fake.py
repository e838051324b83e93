"""A fake Bitrix24 portal as a `requests` transport adapter (scripted answers, recorded requests), and a
fake clock for the client and its limiters (sleeping moves it on at once)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import requests
from requests.adapters import BaseAdapter

Answer = tuple[int, Any] | Exception
Handler = Callable[[str, dict[str, Any]], Answer]

WEBHOOK = "https://acme.bitrix24.com/rest/1/s3cr3tc0de42/"
SECRET = "s3cr3tc0de42"


class FakePortal(BaseAdapter):
    """Answers from `script` first (in order), then from `handler(method, json_body)`."""

    def __init__(self) -> None:
        super().__init__()
        self.script: list[Answer] = []
        self.handler: Handler | None = None
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.raw: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:  # type: ignore[override]
        self.raw.append(request)
        method = (request.url or "").rsplit("/", 1)[-1]
        body = json.loads(request.body or b"{}")
        self.sent.append((method, body))
        answer = self.script.pop(0) if self.script else self._handle(method, body)
        if isinstance(answer, Exception):
            raise answer
        status, payload = answer
        response = requests.Response()
        response.status_code = status
        response._content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        response.url = request.url or ""
        response.request = request
        return response

    def _handle(self, method: str, body: dict[str, Any]) -> Answer:
        assert self.handler is not None, f"unexpected request {method}"
        return self.handler(method, body)

    def close(self) -> None:
        pass


class Clock:
    """`clock()` reads the time, `clock.sleep(s)` records the pause and moves the time on by `s`."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def ok(result: Any, **extra: Any) -> tuple[int, Any]:
    return 200, {"result": result, "time": {"start": 1.0, "operating": 0.1}, **extra}


def batch_answer(results: dict[str, Any], errors: dict[str, Any] | None = None) -> tuple[int, Any]:
    return ok(
        {
            "result": results or [],
            "result_error": errors or [],
            "result_total": [],
            "result_next": [],
            "result_time": [],
        }
    )


def parse_cmd(cmd: str) -> tuple[str, dict[str, str]]:
    """A batch command string as (method, flat php-style params)."""
    method, _, query = cmd.partition("?")
    return method, dict(parse_qsl(query))

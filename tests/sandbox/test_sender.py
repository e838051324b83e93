"""The event sender posts bodies byte for byte like the portal (compared with the project's sample bodies)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from service.sandbox import AppAuth, EventTarget, SandboxServer, event_body

from .conftest import Client

SAMPLES = Path(__file__).parent / "samples"  # the project's own copies of real portal bodies
TOKEN = "k3v9w2x8y7z6q5p4o3n2m1l0k9j8h7g6"
MEMBER = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
DOMAIN = "acme.bitrix24.com"


def target(handler_id: int, app: AppAuth | None = None, url: str = "http://127.0.0.1:1/") -> EventTarget:
    return EventTarget(url, handler_id, TOKEN, MEMBER, DOMAIN, app)


@pytest.mark.parametrize(
    ("sample", "event", "task_id", "handler_id", "ts", "app"),
    [
        ("ontaskupdate-webhook.form", "ONTASKUPDATE", 691, 17, 1766047124, None),
        ("ontaskadd-webhook.form", "ONTASKADD", 692, 16, 1766047200, None),
        ("ontaskdelete-webhook.form", "ONTASKDELETE", 692, 18, 1766047300, None),
        ("ontaskupdate-app.form", "ONTASKUPDATE", 693, 185, 1766047400,
         AppAuth("s6p6eclrvim6da22ft9ch94ekreb52lv")),
    ],
)  # fmt: skip
def test_body_equals_sample(
    sample: str, event: str, task_id: int, handler_id: int, ts: int, app: AppAuth | None
) -> None:
    expected = (SAMPLES / sample).read_bytes()
    assert event_body(event, task_id, target(handler_id, app), ts) == expected


@pytest.fixture
def handler() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    received: list[tuple[str, bytes]] = []
    app = Flask("handler")

    @app.post("/bitrix24/events")
    def events() -> tuple[str, int]:
        received.append((request.content_type or "", request.get_data()))
        return "{}", 200

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/bitrix24/events", received
    server.shutdown()


def test_posted_body_over_http(handler: tuple[str, list[tuple[str, bytes]]], sandbox: SandboxServer) -> None:
    url, received = handler
    sandbox.add_event_target(url, handler_id=17)
    deliveries = sandbox.sender.send("ONTASKUPDATE", 691, ts=1766047124)
    assert [d.status for d in deliveries] == [200]
    content_type, body = received[0]
    assert content_type == "application/x-www-form-urlencoded"
    assert body == (SAMPLES / "ontaskupdate-webhook.form").read_bytes()


def test_control_api_fires_events(
    handler: tuple[str, list[tuple[str, bytes]]], client: Client, sandbox: SandboxServer
) -> None:
    url, received = handler
    client.control("POST", "/events/targets", {"url": url, "handler_id": 17})
    renewed = client.control("POST", "/tasks/693/status", {"status": "renew"}).json()
    assert renewed["events"][0]["status"] == 200
    assert b"data%5BFIELDS_AFTER%5D%5BID%5D=693" in received[-1][1]
    client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": 1})
    assert len(received) == 1  # deleting a time entry fires no event
    sent = client.control("POST", "/events/send", {"event": "ONTASKADD", "task_id": 5}).json()
    assert sent["deliveries"][0]["event"] == "ONTASKADD"
    assert b"data%5BFIELDS_BEFORE%5D=undefined" in received[-1][1]

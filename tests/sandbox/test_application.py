"""The sandbox as an application's portal: install call, OAuth with expiry and rotating refresh tokens,
event.bind only for applications, bound handlers get task events, uninstall forgets everything."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import requests

from service.sandbox import SandboxServer

from .conftest import Client, FakeClock


class Receiver:
    """A tiny HTTP server that records every form it is posted."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []
        received = self.forms

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(dict(parse_qsl(self.rfile.read(length).decode())))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    received = Receiver()
    yield received
    received.server.shutdown()


def _install(client: Client, receiver: Receiver) -> dict[str, str]:
    answer = client.control("POST", "/app/install", {"url": receiver.url}).json()
    assert answer["status"] == 200
    return receiver.forms[-1]


def _oauth(sandbox: SandboxServer, method: str, token: str, **params: object) -> requests.Response:
    return requests.post(f"{sandbox.url}/rest/{method}", json={**params, "auth": token}, timeout=5)


def test_install_posts_onappinstall_with_both_tokens(client: Client, receiver: Receiver) -> None:
    form = _install(client, receiver)

    assert form["event"] == "ONAPPINSTALL"
    assert form["auth[client_endpoint]"] == f"{client.server.url}/rest/"
    assert all(form[f"auth[{key}]"] for key in ("access_token", "refresh_token", "application_token"))


def test_event_methods_need_an_application_not_a_webhook(
    client: Client, sandbox: SandboxServer, receiver: Receiver
) -> None:
    token = _install(client, receiver)["auth[access_token]"]

    refused = client.call("event.bind", {"event": "ONTASKUPDATE", "handler": receiver.url})
    bound = _oauth(sandbox, "event.bind", token, event="ONTASKUPDATE", handler=receiver.url)
    listed = _oauth(sandbox, "event.get", token).json()["result"]

    assert (refused.status_code, refused.json()["error"]) == (403, "WRONG_AUTH_TYPE")
    assert bound.json()["result"] is True
    assert listed == [{"event": "ONTASKUPDATE", "handler": receiver.url, "auth_type": "0", "offline": 0}]
    client.control("POST", "/events/send", {"event": "ONTASKUPDATE", "task_id": 691})
    event = receiver.forms[-1]
    assert (event["event"], event["data[FIELDS_AFTER][ID]"]) == ("ONTASKUPDATE", "691")
    assert event["auth[application_token]"] == receiver.forms[0]["auth[application_token]"]


def test_tokens_expire_and_refresh_tokens_rotate(
    client: Client, sandbox: SandboxServer, receiver: Receiver, clock: FakeClock
) -> None:
    form = _install(client, receiver)
    token, refresh = form["auth[access_token]"], form["auth[refresh_token]"]
    assert _oauth(sandbox, "tasks.task.get", token, taskId=691).status_code == 200

    clock.advance(3600)
    expired = _oauth(sandbox, "tasks.task.get", token, taskId=691)
    app = client.control("GET", "/app").json()
    query = {
        "grant_type": "refresh_token",
        "client_id": app["client_id"],
        "client_secret": "sandbox-client-secret",
    }
    renewed = requests.get(
        f"{sandbox.url}/oauth/token/", params={**query, "refresh_token": refresh}, timeout=5
    )
    spent = requests.get(f"{sandbox.url}/oauth/token/", params={**query, "refresh_token": refresh}, timeout=5)
    wrong = requests.get(
        f"{sandbox.url}/oauth/token/",
        params={**query, "client_secret": "x", "refresh_token": refresh},
        timeout=5,
    )

    assert (expired.status_code, expired.json()["error"]) == (401, "expired_token")
    fresh = renewed.json()
    assert fresh["refresh_token"] != refresh
    assert fresh["member_id"] == sandbox.portal.config.member_id
    assert _oauth(sandbox, "tasks.task.get", fresh["access_token"], taskId=691).status_code == 200
    assert spent.json()["error"] == "invalid_grant"
    assert wrong.json()["error"] == "invalid_client"


def test_uninstall_tells_its_handler_and_voids_every_token(
    client: Client, sandbox: SandboxServer, receiver: Receiver
) -> None:
    token = _install(client, receiver)["auth[access_token]"]
    _oauth(sandbox, "event.bind", token, event="ONAPPUNINSTALL", handler=receiver.url)

    client.control("POST", "/app/uninstall")

    assert receiver.forms[-1]["event"] == "ONAPPUNINSTALL"
    assert "auth[access_token]" not in receiver.forms[-1]
    assert _oauth(sandbox, "tasks.task.get", token, taskId=691).json()["error"] == "NO_AUTH_FOUND"


def test_opening_the_app_posts_the_page_form_with_the_openers_token_admin_or_not(
    client: Client, receiver: Receiver, sandbox: SandboxServer
) -> None:
    _install(client, receiver)
    for user_id, admin in ((1, True), (503, False)):
        answer = client.control("POST", "/app/open", {"url": receiver.url, "user_id": user_id}).json()
        assert answer["status"] == 200
        form = receiver.forms[-1]
        assert form["member_id"] == sandbox.portal.config.member_id
        assert form["PLACEMENT"] == "DEFAULT"
        assert _oauth(sandbox, "user.admin", form["AUTH_ID"]).json()["result"] is admin
        profile = _oauth(sandbox, "profile", form["AUTH_ID"]).json()["result"]
        assert (profile["ID"], profile["ADMIN"]) == (str(user_id), admin)
    info = _oauth(sandbox, "app.info", form["AUTH_ID"]).json()["result"]
    assert info["CODE"] == sandbox.portal.app.client_id


def test_onofflineevent_tells_its_handler_once_per_min_timeout_with_the_application_token(
    client: Client, sandbox: SandboxServer, receiver: Receiver, clock: FakeClock
) -> None:
    installed = _install(client, receiver)
    token = installed["auth[access_token]"]
    _oauth(sandbox, "event.bind", token, event="ONTASKUPDATE", event_type="offline")
    bound = _oauth(sandbox, "event.bind", token, event="ONOFFLINEEVENT", handler=receiver.url,
                   options={"minTimeout": 30})  # fmt: skip
    assert bound.json()["result"] is True

    for _ in range(3):  # three changes inside one pause: one notice
        client.control("POST", "/events/send", {"event": "ONTASKUPDATE", "task_id": 691})
    clock.advance(31)
    client.control("POST", "/events/send", {"event": "ONTASKUPDATE", "task_id": 692})

    notices = [form for form in receiver.forms if form["event"] == "ONOFFLINEEVENT"]
    assert len(notices) == 2
    first = notices[0]
    assert (first["data[type]"], first["data[event]"], first["data[minTimeout]"]) == (
        "update",
        "onTaskUpdate",
        "30",
    )
    assert first["data[handler]"] == receiver.url
    assert first["auth[application_token]"] == installed["auth[application_token]"]
    assert first["auth[member_id]"] == installed["auth[member_id]"]
    assert first["auth[refresh_token]"]  # this event carries the refresh token too
    assert len(sandbox.portal.app.offline) == 2  # the changes were queued, not posted

"""ONOFFLINEEVENT on /bitrix24/events (offline delivery): verified by the portal's application token in
constant time, it sets that portal's wake-up mark and answers 200; a forged one is 401 and marks nothing.
The install binds it online, with minTimeout, next to the task events bound offline."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from service.assembly.resources import Resources
from service.assembly.webwiring import web_parts
from service.sandbox import SandboxServer
from service.store.wakeups import MarkBoard, Wakeups
from service.web.app import create_app
from tests.web.conftest import FORM, MEMBER, app_settings, post_install

APP_TOKEN = "a1b2c3d4e5f6a7b8"  # what post_install installs


@pytest.fixture
def offline(make_resources: Callable[..., Resources], sandbox: SandboxServer) -> Resources:
    return make_resources(**app_settings(sandbox), b24_delivery="offline")


@pytest.fixture
def client(offline: Resources, sandbox: SandboxServer) -> FlaskClient:
    client = create_app(web_parts(offline)).test_client()
    assert post_install(client, sandbox, application_token=APP_TOKEN) == (200, "")
    return client


def notice(token: str, member_id: str = MEMBER) -> str:
    """The form the portal posts (api-reference/events/on-offline-event.md)."""
    return urlencode({
        "event": "ONOFFLINEEVENT", "data[type]": "update", "data[event]": "onTaskUpdate",
        "data[handler]": "http://127.0.0.1:9/bitrix24/events", "data[minTimeout]": "1", "ts": "1466439714",
        "auth[access_token]": "s6p6eclrvim6da22ft9ch94ekreb52lv", "auth[expires_in]": "3600",
        "auth[scope]": "task", "auth[domain]": "portal.example", "auth[member_id]": member_id,
        "auth[refresh_token]": "4s386p3q0tr8dy89xvmt96234v3dljg8", "auth[application_token]": token,
    })  # fmt: skip


def test_the_install_binds_onofflineevent_online_beside_the_offline_task_events(
    client: FlaskClient, sandbox: SandboxServer
) -> None:
    bound = {(b.event, b.event_type, b.handler): b.options for b in sandbox.portal.app.bindings}
    assert bound[("ONOFFLINEEVENT", "online", "http://127.0.0.1:9/bitrix24/events")] == {"minTimeout": 1}
    assert ("ONTASKUPDATE", "offline", "") in bound


def test_a_genuine_notice_marks_its_portal_and_a_forged_one_is_refused(
    client: FlaskClient, offline: Resources
) -> None:
    wakeups = Wakeups(offline.engine)

    forged = client.post("/bitrix24/events", data=notice("f" * 16), content_type=FORM)
    unknown = client.post("/bitrix24/events", data=notice(APP_TOKEN, "z" * 32), content_type=FORM)

    assert forged.status_code == 401
    assert unknown.status_code == 401
    assert wakeups.marks() == {}  # no row: nothing stored

    genuine = client.post("/bitrix24/events", data=notice(APP_TOKEN), content_type=FORM)
    again = client.post("/bitrix24/events", data=notice(APP_TOKEN), content_type=FORM)

    assert (genuine.status_code, genuine.get_json()) == (200, {"status": "woken"})
    assert again.status_code == 200  # idempotent
    board = MarkBoard(wakeups, max_age=0)  # what the pollers read
    assert board.take(MEMBER) is True  # the poller takes the mark once…
    assert board.take(MEMBER) is False  # …and it is gone until the next notice
    assert offline.journal.find(limit=10) == []  # a notice is no task event


def test_online_delivery_does_not_take_notices(app_mode: Resources, sandbox: SandboxServer) -> None:
    client = create_app(web_parts(app_mode)).test_client()
    assert post_install(client, sandbox, application_token=APP_TOKEN) == (200, "")
    assert not any(b.event == "ONOFFLINEEVENT" for b in sandbox.portal.app.bindings)
    answer = client.post("/bitrix24/events", data=notice(APP_TOKEN), content_type=FORM)
    assert answer.status_code == 400
    assert Wakeups(app_mode.engine).marks() == {}

"""The event sender: posts task events to a handler URL exactly as the portal's queue server does.

Body: ``application/x-www-form-urlencoded``, PHP ``http_build_query`` style, keys in the order of
the samples in tests/sandbox/samples; ``data`` per event as in the kernel's onEventFilter
(literal ``undefined`` where there is no value); outgoing-webhook auth block, or the application
block with OAuth fields. https://apidocs.bitrix24.com/api-reference/events/index.html
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests

UNDEFINED = "undefined"
SERVER_ENDPOINT = "https://oauth.bitrix.info/rest/"


@dataclass
class AppAuth:
    """The OAuth part of an application's event auth block (absent for outgoing webhooks)."""

    access_token: str
    expires_in: int = 3600
    scope: str = "task"
    status: str = "L"
    user_id: int = 1


@dataclass
class EventTarget:
    url: str
    handler_id: int
    application_token: str
    member_id: str
    domain: str
    app: AppAuth | None = None


def _data(event: str, task_id: int) -> list[tuple[str, str]]:
    tid = str(task_id)
    shapes = {  # (FIELDS_BEFORE, FIELDS_AFTER, IS_ACCESSIBLE_BEFORE, IS_ACCESSIBLE_AFTER)
        "ONTASKADD": (None, tid, "N", UNDEFINED),
        "ONTASKUPDATE": (tid, tid, UNDEFINED, UNDEFINED),
        "ONTASKDELETE": (tid, None, UNDEFINED, "N"),
    }
    before, after, acc_before, acc_after = shapes[event]
    pairs = []
    for name, value in (("FIELDS_BEFORE", before), ("FIELDS_AFTER", after)):
        pairs.append((f"data[{name}][ID]", value) if value else (f"data[{name}]", UNDEFINED))
    return [*pairs, ("data[IS_ACCESSIBLE_BEFORE]", acc_before), ("data[IS_ACCESSIBLE_AFTER]", acc_after)]


def _auth(target: EventTarget, ts: int) -> list[tuple[str, str]]:
    client_endpoint = f"https://{target.domain}/rest/"
    app = target.app
    if app is None:
        return [
            ("auth[domain]", target.domain),
            ("auth[client_endpoint]", client_endpoint),
            ("auth[server_endpoint]", SERVER_ENDPOINT),
            ("auth[member_id]", target.member_id),
            ("auth[application_token]", target.application_token),
        ]
    return [
        ("auth[access_token]", app.access_token),
        ("auth[expires]", str(ts + app.expires_in)),
        ("auth[expires_in]", str(app.expires_in)),
        ("auth[scope]", app.scope),
        ("auth[domain]", target.domain),
        ("auth[server_endpoint]", SERVER_ENDPOINT),
        ("auth[status]", app.status),
        ("auth[client_endpoint]", client_endpoint),
        ("auth[member_id]", target.member_id),
        ("auth[user_id]", str(app.user_id)),
        ("auth[application_token]", target.application_token),
    ]


def event_body(event: str, task_id: int, target: EventTarget, ts: int) -> bytes:
    """The exact form body the portal would post for ``event`` on ``task_id``."""
    name = event.upper()
    pairs = [("event", name), ("event_handler_id", str(target.handler_id)), *_data(name, task_id)]
    pairs += [("ts", str(ts)), *_auth(target, ts)]
    return urlencode(pairs).encode("ascii")


@dataclass
class Delivery:
    event: str
    task_id: int
    url: str
    status: int | None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"event": self.event, "task_id": self.task_id, "url": self.url, "status": self.status,
                "error": self.error}  # fmt: skip


@dataclass
class EventSender:
    """Posts events to every registered target (no retries, like the real queue server)."""

    targets: list[EventTarget] = field(default_factory=list)
    timeout: float = 5.0
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Handlers an installed application bound with event.bind (install.bound_targets), per event.
    bound: Callable[[str, int], list[EventTarget]] = lambda _event, _task: []

    def send(self, event: str, task_id: int, ts: int | None = None) -> list[Delivery]:
        stamp = int(time.time()) if ts is None else ts
        with self.lock:
            targets = list(self.targets)
        targets += self.bound(event.upper(), task_id)
        done = [self.post(event, task_id, target, stamp) for target in targets]
        with self.lock:
            self.deliveries.extend(done)
        return done

    def post(self, event: str, task_id: int, target: EventTarget, ts: int) -> Delivery:
        body = event_body(event, task_id, target, ts)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            response = requests.post(target.url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            return Delivery(event.upper(), task_id, target.url, None, type(exc).__name__)
        return Delivery(event.upper(), task_id, target.url, response.status_code)


def post_form(url: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """One form post of the portal's own calls (install, uninstall, ONOFFLINEEVENT); what it answered."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        response = requests.post(url, data=urlencode(pairs).encode("ascii"), headers=headers, timeout=10)
    except requests.RequestException as exc:
        return {"url": url, "status": None, "error": type(exc).__name__}
    return {"url": url, "status": response.status_code, "body": response.text[:500]}

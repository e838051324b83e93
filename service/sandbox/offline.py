"""The offline event queue and ``event.offline.get|clear|error|list`` (application calls only).

Docs: api-reference/events/offline-events.md, event-offline-get.md, event-offline-clear.md,
event-offline-error.md, event-offline-list.md. The queue keeps one row per changed object with its
latest change (a task changed 1000 times is one row). ``get`` with ``clear=0`` reserves the rows it
returns under a ``process_id`` (given, or made up) and hides them from other callers; asking again with
the same ``process_id`` returns them again until ``clear`` deletes them; ``error`` marks them failed.
A change to a task whose row is reserved makes a new row: the reserved one still stands for the old change.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .application import require_oauth
from .errors import ApiError
from .model import iso
from .params import as_list, get_ci, php_int, truthy
from .portal import Portal
from .registry import Call, Outcome, method

PAGE = 50


@dataclass
class OfflineRow:
    id: int
    timestamp: float
    event_name: str
    task_id: int
    message_id: str
    process_id: str = ""
    error: bool = False

    def rest(self, portal: Portal) -> dict[str, Any]:
        side = "FIELDS_BEFORE" if self.event_name == "ONTASKDELETE" else "FIELDS_AFTER"
        return {
            "ID": str(self.id),
            "TIMESTAMP_X": iso(datetime.fromtimestamp(self.timestamp, portal.tz)),
            "EVENT_NAME": self.event_name,
            "EVENT_DATA": {side: {"ID": str(self.task_id)}},
            "EVENT_ADDITIONAL": {"user_id": "1"},
            "MESSAGE_ID": self.message_id,
            "PROCESS_ID": self.process_id,
            "ERROR": "1" if self.error else "0",
        }


def record_change(portal: Portal, event: str, task_id: int) -> bool:
    """Queue a task change if the application bound `event` offline; True if it did."""
    app = portal.app
    with app.lock:
        if not app.installed or not any(b.event == event and b.event_type == "offline" for b in app.bindings):
            return False
        queue = app.offline
        queue[:] = [r for r in queue if r.task_id != task_id or r.process_id or r.error]
        app.offline_ids += 1
        queue.append(OfflineRow(app.offline_ids, portal.clock(), event, task_id, secrets.token_hex(16)))
        return True


@method("event.offline.get", "basic")
def offline_get(call: Call) -> Outcome:
    require_oauth(call.webhook)
    app = call.portal.app
    limit = php_int(get_ci(call.params, "limit")) or PAGE
    clear = truthy(get_ci(call.params, "clear", "1"))
    process_id = str(get_ci(call.params, "process_id") or "")
    want_errors = truthy(get_ci(call.params, "error", "0"))
    with app.lock:
        rows = [
            r for r in app.offline
            if r.error == want_errors and (r.process_id == "" or (process_id and r.process_id == process_id))
        ][: max(1, limit)]  # fmt: skip
        if clear:
            app.offline[:] = [r for r in app.offline if r not in rows]
            return Outcome({"process_id": None, "events": [r.rest(call.portal) for r in rows]})
        process_id = process_id or secrets.token_hex(16)
        for row in rows:
            row.process_id = process_id
        return Outcome({"process_id": process_id, "events": [r.rest(call.portal) for r in rows]})


def _chosen(call: Call) -> tuple[str, set[str]]:
    process_id = str(get_ci(call.params, "process_id") or "")
    if not process_id:
        raise ApiError(400, "ERROR_CORE", "process_id is required")
    return process_id, {str(m) for m in as_list(get_ci(call.params, "message_id"))}


@method("event.offline.clear", "basic")
def offline_clear(call: Call) -> Outcome:
    require_oauth(call.webhook)
    process_id, messages = _chosen(call)
    app = call.portal.app
    with app.lock:
        app.offline[:] = [
            r
            for r in app.offline
            if not (r.process_id == process_id and (not messages or r.message_id in messages))
        ]
    return Outcome(True)


@method("event.offline.error", "basic")
def offline_error(call: Call) -> Outcome:
    require_oauth(call.webhook)
    process_id, messages = _chosen(call)
    with call.portal.app.lock:
        for row in call.portal.app.offline:
            if row.process_id == process_id and row.message_id in messages:
                row.error = True
    return Outcome(True)


@method("event.offline.list", "basic")
def offline_list(call: Call) -> Outcome:
    require_oauth(call.webhook)
    start = php_int(get_ci(call.params, "start")) or 0
    with call.portal.app.lock:
        rows = list(call.portal.app.offline)
    page = rows[start : start + PAGE]
    following = start + PAGE if start + PAGE < len(rows) else None
    return Outcome([r.rest(call.portal) for r in page], total=len(rows), next=following)

"""The offline poller (B24_DELIVERY=offline): pull a portal's queued changes, journal them, confirm them.

One round: `event.offline.get` (clear=0, our process id, a limit) reserves a batch at the portal; the
events are journalled once per MESSAGE_ID (`store/offline.py`); `event.offline.clear` then deletes at
the portal exactly the message ids that are stored, and `event.offline.error` marks the ones that can
never be (no task id). Killed anywhere in between, the next round asks with the same process id, gets
the same reserved rows, stores none of them twice and clears them. Calls go through the portal's gateway
client, so they take tokens from its rate bucket like every other call.

Between rounds the poller waits `poll_seconds` for the next REST poll. With a wake-up source (ONOFFLINEEVENT
bound: `store/wakeups.py`, set by the web half) it reads the portal's mark every `WAKE_CHECK_SECONDS`
meanwhile (a database read, no REST call) and pulls at once when the mark is set, so the REST interval
can be long (`WOKEN_POLL_SECONDS`) while a change still arrives within about a second. Until the portal's
first notice it polls every `POLL_SECONDS`: a portal installed before ONOFFLINEEVENT was bound, or one
that cannot reach our URL, never sends one.
https://apidocs.bitrix24.com/api-reference/events/event-offline-get.html · event-offline-clear.html ·
on-offline-event.html
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from service.core.bitrix import Call, Reply
from service.core.digits import ascii_int
from service.plumbing.clock import utcnow
from service.plumbing.sentry import capture_failure
from service.store.offline import OfflineEvent, OfflineInbox

log = logging.getLogger(__name__)

BATCH = 50  # rows per get: the portal's default page
POLL_SECONDS = 2.0  # between rounds while the queue is empty, until the portal sends a wake-up notice
WOKEN_POLL_SECONDS = 30.0  # … once it has: ONOFFLINEEVENT wakes the poller; this catches a missed notice
WAKE_CHECK_SECONDS = 0.25  # how often the wake-up mark is read meanwhile


TASK_EVENTS = frozenset({"ONTASKADD", "ONTASKUPDATE", "ONTASKDELETE"})


class Caller(Protocol):
    def call(self, call: Call) -> Reply: ...


class OfflinePoller:
    def __init__(
        self,
        inbox: OfflineInbox,
        portal: Caller,
        domain: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        poll_seconds: float = POLL_SECONDS,
        woken: Callable[[], bool | None] | None = None,
        unheard_seconds: float = POLL_SECONDS,
    ) -> None:
        self._inbox = inbox
        self._portal = portal
        self._domain = domain
        self._clock = clock
        self._poll = poll_seconds
        self._woken = woken  # takes the portal's wake-up mark: True once per notice, None: never notified
        self._unheard = unheard_seconds

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                pulled = self.poll_once()
            except Exception as error:  # the portal or the database is away: try again later
                log.exception("offline poll failed", extra={"domain": self._domain})
                capture_failure(error, {"stage": "offline-poll", "domain": self._domain})
                pulled = 0
            if pulled < BATCH:
                self._wait(stop)

    def _wait(self, stop: threading.Event) -> None:
        """Until the next REST poll is due, the portal's wake-up mark is set, or `stop`. A portal that
        never sent a notice keeps the short interval (`unheard_seconds`): notices may never come."""
        if self._woken is None:
            stop.wait(self._poll)
            return
        started = time.monotonic()
        while not stop.wait(WAKE_CHECK_SECONDS):
            mark = self._take_mark()
            if mark:
                return
            interval = self._poll if mark is not None else self._unheard
            if time.monotonic() - started >= interval:
                return

    def _take_mark(self) -> bool | None:
        assert self._woken is not None
        try:
            return self._woken()
        except Exception:  # the database is away: poll on the short interval meanwhile
            log.warning("could not read the offline wake-up mark", extra={"domain": self._domain})
            return None

    def poll_once(self) -> int:
        """One get → store → clear round; the number of rows the portal handed over."""
        process_id = self._inbox.process_id()
        params = (("clear", 0), ("process_id", process_id), ("limit", BATCH))
        result = self._portal.call(Call("event.offline.get", params)).result or {}
        rows = result.get("events") or [] if isinstance(result, dict) else []
        good, bad = _parse(rows, self._domain)
        stored = self._inbox.store(good, self._clock()) if good else []
        if bad:
            self._portal.call(Call("event.offline.error", (("process_id", process_id), ("message_id", bad))))
        if stored:
            self._portal.call(
                Call("event.offline.clear", (("process_id", process_id), ("message_id", stored)))
            )
        if rows:
            log.info("offline events pulled", extra={"domain": self._domain, "rows": len(rows),
                                                     "stored": len(stored), "refused": len(bad)})  # fmt: skip
        return len(rows)


def _parse(rows: list[Any], domain: str) -> tuple[list[OfflineEvent], list[str]]:
    good: list[OfflineEvent] = []
    bad: list[str] = []
    for row in rows:
        if not isinstance(row, dict) or not str(row.get("MESSAGE_ID", "")):
            continue  # without a message id it cannot be cleared or marked either
        message_id = str(row["MESSAGE_ID"])
        name = str(row.get("EVENT_NAME", "")).upper()
        task_id = _task_id(row.get("EVENT_DATA"))
        if name in TASK_EVENTS and task_id is not None:
            good.append(OfflineEvent(message_id, name, task_id, domain))
        else:
            bad.append(message_id)
    return good, bad


def _task_id(data: object) -> int | None:
    if not isinstance(data, dict):
        return None
    for side in ("FIELDS_AFTER", "FIELDS_BEFORE"):
        fields = data.get(side)
        task_id = ascii_int(fields.get("ID", "")) if isinstance(fields, dict) else None
        if task_id:
            return task_id
    return None

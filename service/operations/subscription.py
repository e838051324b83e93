"""Subscribing an installed portal to our events with `event.bind`, and checking it with `event.get`.

Online delivery binds the task events to `<B24_PUBLIC_URL>/bitrix24/events`; offline delivery binds them
with `event_type=offline` (the portal queues changes for `event.offline.get`; admin only) and, when we
have a public URL, ONOFFLINEEVENT online (the portal's "new rows in the queue" notice, at most one per
`minTimeout` seconds), which wakes the portal's poller (`store/wakeups.py`). Either way
ONAPPUNINSTALL is bound online, so an uninstall reaches us and purges the portal's tokens.
Handlers vanish when the application is reinstalled or updated, so every install binds again.
https://apidocs.bitrix24.com/api-reference/events/event-bind.html · event-get.html · offline-events.html ·
on-offline-event.html
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from service.core.bitrix import BitrixError, Call, Reply
from service.store.portals import BIND_FAILED, OFFLINE, ONLINE, Portals

log = logging.getLogger(__name__)

TASK_EVENTS = ("ONTASKADD", "ONTASKUPDATE", "ONTASKDELETE")
UNINSTALL = "ONAPPUNINSTALL"
WAKEUP = "ONOFFLINEEVENT"
# The portal sends one ONOFFLINEEVENT, then waits at least this many seconds before the next (its default).
WAKEUP_MIN_TIMEOUT = 1
EVENTS_PATH = "/bitrix24/events"


class Caller(Protocol):
    def call(self, call: Call) -> Reply: ...


@dataclass(frozen=True)
class Binding:
    event: str
    offline: bool
    options: tuple[tuple[str, int], ...] = ()


def planned(delivery: str, public_url: str | None) -> list[Binding]:
    """What a portal should have bound: the task events (online or offline) and ONAPPUNINSTALL (online)."""
    offline = delivery == "offline"
    wanted = [Binding(event, offline) for event in TASK_EVENTS]
    if public_url:
        wanted.append(Binding(UNINSTALL, False))
        if offline:
            wanted.append(Binding(WAKEUP, False, (("minTimeout", WAKEUP_MIN_TIMEOUT),)))
    return wanted


def bind_call(binding: Binding, handler: str) -> Call:
    if binding.offline:
        return Call("event.bind", (("event", binding.event), ("event_type", "offline")))
    options = (("options", dict(binding.options)),) if binding.options else ()
    return Call("event.bind", (("event", binding.event), ("handler", handler), *options))


class Subscriber:
    def __init__(
        self, portals: Portals, delivery: str, public_url: str | None, clock: Callable[[], datetime]
    ) -> None:
        self._portals = portals
        self._delivery = delivery
        self._handler = (public_url or "").rstrip("/") + EVENTS_PATH
        self._public_url = public_url
        self._clock = clock

    def subscribe(self, member_id: str, portal: Caller) -> str:
        """Bind every planned event; record and return the portal's binding state."""
        failures: list[str] = []
        for binding in planned(self._delivery, self._public_url):
            try:
                portal.call(bind_call(binding, self._handler))
            except BitrixError as error:
                if "already" not in error.description.lower():  # bound before: what we wanted
                    failures.append(f"{binding.event}: {error.code}")
        state = BIND_FAILED if failures else (OFFLINE if self._delivery == "offline" else ONLINE)
        self._portals.set_binding(member_id, state, self._clock(), "; ".join(failures)[:500] or None)
        if failures:
            log.warning("event.bind failed", extra={"member_id": member_id, "failures": failures})
        return state

    def missing(self, portal: Caller) -> list[str]:
        """The planned bindings `event.get` does not show (what `portals --check` reports)."""
        listed = portal.call(Call("event.get")).result or []
        have = {
            (str(row.get("event", "")).upper(), bool(int(row.get("offline", 0) or 0)))
            for row in listed
            if isinstance(row, dict)
        }
        return [
            f"{b.event} ({'offline' if b.offline else 'online'})"
            for b in planned(self._delivery, self._public_url)
            if (b.event, b.offline) not in have
        ]

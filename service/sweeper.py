"""Reconciliation: every B24_SWEEP_INTERVAL, enqueue the tasks the portal changed since the watermark.

Bitrix24 never re-delivers a lost event, and some changes (a timer stopped at once) may come with no
event at all; the sweeper finds them with `tasks.task.list` filtered on CHANGED_DATE and feeds them into
the same journal as events, so they take the same path. One sweeper leads at a time across replicas.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.bitrix.portal import PortalGateway
from service.runtime import Runtime
from service.store.sweeps import SweepState

log = logging.getLogger(__name__)

SWEEP_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class SweepReport:
    tasks: int
    watermark: datetime | None


class Sweeper:
    def __init__(self, runtime: Runtime, gateway: PortalGateway, *, owner: str) -> None:
        self._runtime = runtime
        self._gateway = gateway
        self._owner = owner
        self._state = SweepState(runtime.engine)
        self._next_at: datetime | None = None

    def maybe_run(self, now: datetime) -> SweepReport | None:
        interval = self._runtime.settings.b24_sweep_interval
        if interval <= 0 or (self._next_at is not None and now < self._next_at):
            return None
        self._next_at = now + timedelta(seconds=interval)
        return self.run_once(now)

    def run_once(self, now: datetime, since: datetime | None = None) -> SweepReport | None:
        """One pass; None when another replica is sweeping right now."""
        if not self._state.try_lead(self._owner, now, SWEEP_LEASE):
            return None
        try:
            # A first sweep only sets the watermark: installing b24rules must not act at once on every
            # task changed lately. Back-fill on purpose with `b24rules sweep --since 7d`.
            start = since or self._state.watermark() or now
            newest = start
            tasks: set[int] = set()
            for task_id, changed in self._gateway.changed_since(start):
                tasks.add(task_id)
                newest = max(newest, changed)
            for task_id in sorted(tasks):
                self._runtime.journal.enqueue_task(task_id, now, source="sweep")
            # The portal's own clock sets the watermark, so clock skew between us and it loses nothing.
            self._state.advance(newest, now)
            log.info("sweep done", extra={"tasks": len(tasks), "since": start.isoformat()})
            return SweepReport(len(tasks), newest)
        finally:
            self._state.release(self._owner)

"""Settling audit rows whose deletion the portal's answer left open, from a fresh read of their task.

A row is `unconfirmed` (answer lost), `refused` (an error answered) or a stale `pending` (a worker died
around the send). Whoever reads the task next settles it (`service/core/settling.py`): the round that
sent the delete re-reads the task at once; otherwise the next round of the task does, from the read it
makes anyway — a worker taking over a dead worker's task, a retry, or the sweeper's re-queue of a task
that got no further event. No row keeps an open outcome, and every entry we deleted is restorable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from service.bitrix.portal import PortalGateway, TaskState
from service.core.bitrix.errors import NotFound
from service.core.digits import ascii_int
from service.core.settling import settle
from service.plumbing import metrics
from service.store.audit import AuditLog

log = logging.getLogger(__name__)

Present = frozenset[int] | None  # the ids of a task's entries as read now; None: the task is gone


class Confirmer:
    def __init__(self, gateway: PortalGateway, audit: AuditLog) -> None:
        self._gateway = gateway
        self._audit = audit

    def from_states(self, states: Mapping[int, TaskState | BaseException], now: datetime) -> dict[int, str]:
        """Settle the open rows of tasks a round has just read; audit id → final outcome."""
        present: dict[int, Present] = {}
        for task_id, state in states.items():
            if isinstance(state, NotFound) or (isinstance(state, TaskState) and state.task is None):
                present[task_id] = None
            elif isinstance(state, TaskState):
                present[task_id] = frozenset(_ids(state.entries))
        return self._settle(present, now)

    def reread(self, task_ids: Sequence[int], now: datetime) -> dict[int, str]:
        """Read these tasks' entries afresh and settle their open rows; a failed read settles nothing
        (the rows wait for the task's next read)."""
        try:
            reads = self._gateway.entry_ids(task_ids)
        except Exception as error:
            extra = {"tasks": list(task_ids), "error": str(error)}
            log.warning("re-read to settle deletions failed", extra=extra)
            return {}
        present = {t: ids for t, ids in reads.items() if not isinstance(ids, BaseException)}
        return self._settle(present, now)

    def _settle(self, present: Mapping[int, Present], now: datetime) -> dict[int, str]:
        verdicts = [
            (record, settle(record.outcome, record.item_id, present[record.task_id]))
            for record in self._audit.unsettled(list(present))
        ]
        outcomes = [(record.id, v.outcome, _noted(v.note, record.error)) for record, v in verdicts]
        changed = self._audit.set_outcomes(outcomes, now)  # one transaction for all of them
        settled: dict[int, str] = {}
        for record, verdict in verdicts:
            if record.id in changed:
                settled[record.id] = verdict.outcome
                metrics.DELETIONS.labels(rule=record.rule, outcome=verdict.outcome).inc()
                log.info(
                    "deletion settled",
                    extra={"audit_id": record.id, "task_id": record.task_id, "item_id": record.item_id,
                           "was": record.outcome, "outcome": verdict.outcome},
                )  # fmt: skip
        return settled


def _noted(note: str, error: str | None) -> str:
    return f"{note} ({error})" if error else note


def _ids(entries: Sequence[Mapping[str, object]]) -> list[int]:
    return [item for e in entries if (item := ascii_int(e.get("ID", ""))) is not None]

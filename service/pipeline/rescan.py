"""The edit rescan: each sweep re-reads the time entries created within B24_RESCAN_HOURS and returns the
tasks of those edited since the last sweep, so an entry edited into a rule's reach (say, to 0 s) is
evaluated within one sweep.

Editing an entry (`task.elapseditem.update` or the UI) keeps its id, fires no event and leaves the task's
CHANGED_DATE alone: nothing but the entry itself shows the change. The read goes across all tasks in
pages of 50 packed 50 to a batch (`PortalGateway.recent_entries`), so 10,000 recent entries cost a
handful of requests (docs/performance.md); a fingerprint per entry (`store/fingerprints.py`) tells an
edited entry from an unchanged one. A window holding more entries than one pass reads (MAX_REQUESTS) is
read over several sweeps: each pass resumes after the last id the previous one reached, and the pass
that reaches the newest entry starts the next one from the oldest again. The place is kept in memory:
a restart, or another replica leading the sweep, starts its own cycle (nothing is skipped, it only
takes longer).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from service.bitrix.portal import PortalGateway, recent_capacity
from service.store.fingerprints import EntryFingerprints, Seen

log = logging.getLogger(__name__)

# HTTP requests one rescan makes at most: 1 + 40 batches of 2,500 entries ≈ 100,000 entries.
MAX_REQUESTS = 41
_IDENTITY = ("ID", "TASK_ID")  # what an edit cannot change: not part of the fingerprint


class EditRescan:
    def __init__(
        self,
        gateway: PortalGateway,
        fingerprints: EntryFingerprints,
        *,
        hours: float,
        max_requests: int = MAX_REQUESTS,
    ) -> None:
        self._gateway = gateway
        self._fingerprints = fingerprints
        self._window = timedelta(hours=hours)
        self._max_requests = max_requests
        self._resume_after = 0  # the last id a pass cut short by MAX_REQUESTS reached; 0: from the oldest

    def run(self, now: datetime) -> set[int]:
        """Tasks with an entry edited since the last rescan (none when the window is 0 or the read fails)."""
        if self._window <= timedelta(0):
            return set()
        since = now - self._window
        start = self._resume_after
        try:
            rows = self._gateway.recent_entries(since, self._max_requests, after_id=start)
            seen = [seen_of(row, now) for row in rows]
        except Exception as error:  # the next sweep tries again; the other sweep sources still run
            log.warning("edit rescan failed", extra={"error": str(error)})
            return set()
        cut_short = len(seen) >= recent_capacity(self._max_requests)
        self._resume_after = max(s.item_id for s in seen) if cut_short else 0
        edited = self._fingerprints.changed(seen, now)
        self._fingerprints.prune(created_before=since)
        log.info(
            "edit rescan",
            extra={"entries": len(seen), "edited_tasks": len(edited), "after_id": start,
                   "resume_after": self._resume_after},
        )  # fmt: skip
        return edited


def seen_of(row: Mapping[str, object], now: datetime) -> Seen:
    fields = {key: row[key] for key in sorted(row) if key not in _IDENTITY}
    digest = hashlib.sha256(json.dumps(fields, default=str, sort_keys=True).encode()).hexdigest()
    return Seen(int(str(row["ID"])), int(str(row.get("TASK_ID", 0))), digest[:32], _created(row, now))


def _created(row: Mapping[str, object], now: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(str(row.get("CREATED_DATE")))
    except ValueError:
        return now
    return moment if moment.tzinfo is not None else now

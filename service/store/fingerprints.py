"""What each recent time entry looked like when the edit rescan last read it: id → fingerprint.

An entry edited in place (`task.elapseditem.update`, or the UI) keeps its id and fires no event; comparing
its fingerprint with the one stored here is how the rescan notices the edit. Rows are kept while the
entry's created date is inside B24_RESCAN_HOURS and pruned after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Column, Engine, String, Table, select

from service.store.db import UtcDateTime, metadata, reading, upsert

entry_fingerprints = Table(
    "entry_fingerprints",
    metadata,
    Column("portal", String(64), primary_key=True),  # '' = the webhook portal; ids repeat across portals
    Column("item_id", BigInteger, primary_key=True, autoincrement=False),
    Column("task_id", BigInteger, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),  # the entry's CREATED_DATE: when to forget it
    Column("seen_at", UtcDateTime(), nullable=False),
)

_CHUNK = 500  # ids per IN (…) list


@dataclass(frozen=True)
class Seen:
    item_id: int
    task_id: int
    fingerprint: str
    created_at: datetime


class EntryFingerprints:
    def __init__(self, engine: Engine, portal: str = "") -> None:
        self._engine = engine
        self._portal = portal

    def changed(self, seen: Sequence[Seen], now: datetime) -> set[int]:
        """Store what was seen; return the tasks of entries whose fingerprint differs from the stored one.

        An entry seen for the first time is only stored: it is new (the sweep's entry watermark covers
        it) or predates the rescan, and the first sweep acts on nothing that was there before."""
        edited: set[int] = set()
        for start in range(0, len(seen), _CHUNK):
            chunk = seen[start : start + _CHUNK]
            known = self._known([s.item_id for s in chunk])
            fresh = [s for s in chunk if known.get(s.item_id) != s.fingerprint]
            edited.update(s.task_id for s in fresh if s.item_id in known)
            self._store(fresh, now)
        return edited

    def prune(self, created_before: datetime) -> int:
        condition = (entry_fingerprints.c.portal == self._portal) & (
            entry_fingerprints.c.created_at < created_before
        )
        with self._engine.begin() as connection:
            return connection.execute(entry_fingerprints.delete().where(condition)).rowcount

    def _known(self, item_ids: Sequence[int]) -> dict[int, str]:
        query = select(entry_fingerprints.c.item_id, entry_fingerprints.c.fingerprint).where(
            entry_fingerprints.c.portal == self._portal, entry_fingerprints.c.item_id.in_(list(item_ids))
        )
        with reading(self._engine) as connection:
            return {int(item): str(fingerprint) for item, fingerprint in connection.execute(query)}

    def _store(self, rows: Sequence[Seen], now: datetime) -> None:
        if not rows:
            return
        with self._engine.begin() as connection:
            statement = upsert(connection, entry_fingerprints)
            update = {k: statement.excluded[k] for k in ("task_id", "fingerprint", "created_at", "seen_at")}
            statement = statement.on_conflict_do_update(index_elements=["portal", "item_id"], set_=update)
            connection.execute(statement, [dict(vars(row), seen_at=now, portal=self._portal) for row in rows])

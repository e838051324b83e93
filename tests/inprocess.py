"""One b24rules installation assembled in this process against a sandbox portal on loopback.

The fast tests of the pipeline, the operator tools and the wiring build the real components with
`service/assembly/wiring.py`, on a throwaway SQLite file, and drive them directly: no subprocess, no
gunicorn, no waiting for a poll loop. Only `tests/e2e` starts the service for real.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy import event as sqlalchemy_event

from service.assembly.resources import Resources, build_resources
from service.assembly.wiring import make_gateway, make_worker
from service.core.events import TaskEvent
from service.operations.restoration import restore_entries
from service.plumbing.clock import utcnow
from service.plumbing.settings import Settings
from service.sandbox import SandboxServer
from service.store.audit import AuditLog, AuditRecord
from service.store.claims import NO_WAIT
from service.store.eventlog import events
from service.store.journal import Claim

DROP_ZERO = """
- name: drop-zero
  on: [ONTASKUPDATE]
  action: delete
  where: {entry.seconds: 0}
"""
# Two of three entries are 0 s; the author and the date are the ones restore must bring back.
SLIP = {"seconds": 0, "user_id": 5, "comment": "timer slip", "created_date": "2025-09-20T10:15:00+03:00"}
BLANK = {"seconds": 0, "user_id": 1, "comment": "", "created_date": "2025-09-21T08:00:00+03:00"}
WORK = {"seconds": 3600, "user_id": 1, "comment": "real work", "created_date": "2025-09-21T09:00:00+03:00"}

# What a Sentry capture was handed, in order: (error, tags) per report (tests/conftest.py `reports`).
Reports = list[tuple[BaseException | str, Mapping[str, object]]]


@dataclass
class Rig:
    sandbox: SandboxServer
    resources: Resources
    folder: Path

    def task(self, task_id: int = 691, entries: tuple[dict[str, Any], ...] = (SLIP, BLANK, WORK)) -> int:
        self.sandbox.portal.create_task(f"task {task_id}", task_id=task_id, status=3, entries=list(entries))
        return task_id

    def event(self, task_id: int, now: datetime | None = None) -> int:
        """An ONTASKUPDATE as the web intake stores it."""
        event = TaskEvent("ONTASKUPDATE", task_id, None, "7", "acme.bitrix24.com", "m-1", "token")
        return self.resources.journal.append(event, now or utcnow())

    def claims(self, owner: str = "w1") -> list[Claim]:
        """Claim every task with pending events now, as a worker's round does (no quiet window)."""
        journal = self.resources.journal
        return journal.claim(owner, utcnow(), lease=timedelta(minutes=1), max_tasks=100, quiet=NO_WAIT)

    def drain(self) -> int:
        """Process every pending event as the assembled worker does; the number of rounds."""
        return make_worker(self.resources, owner="w1", sweep=False).drain(timeout=20)

    def restore(
        self, *audit_ids: int, rule: str | None = None, force: bool = False
    ) -> list[tuple[str, bool]]:
        """`b24rules restore` as the command wires it."""
        resources = self.resources
        audit = AuditLog(resources.engine)
        gateway = lambda: make_gateway(resources)  # noqa: E731 - the command passes the same factory
        return restore_entries(
            audit, gateway, resources.redactor, audit_ids, rule=rule, since=None, force=force
        )

    def entries(self, task_id: int) -> list[dict[str, str]]:
        """The task's entries as the portal lists them."""
        return [entry.rest() for entry in self.sandbox.portal.entries_of(task_id)]

    def statuses(self) -> dict[int, str]:
        """Event id → status (pending, processing, done, dead, ignored)."""
        with self.resources.engine.connect() as connection:
            rows = connection.execute(select(events.c.id, events.c.status).order_by(events.c.id))
            return {int(row.id): str(row.status) for row in rows}

    def event_row(self, event_id: int) -> Any:
        with self.resources.engine.connect() as connection:
            return connection.execute(select(events).where(events.c.id == event_id)).one()

    def audit(self, task_id: int | None = None) -> list[AuditRecord]:
        """Audit records, oldest first."""
        return sorted(AuditLog(self.resources.engine).query(task_id=task_id), key=lambda r: r.id)


def settings_for(folder: Path, webhook_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "b24_webhook_url": webhook_url,
        "b24_rules_dir": folder / "rules",
        "b24_database_url": f"sqlite:///{folder / 'b24rules.sqlite3'}",
        "b24_sweep_interval": 0,
        **overrides,
    }
    return Settings(**values)


@contextmanager
def rig(
    rules: str = DROP_ZERO, *, portal_clock: Callable[[], float] = time.time, **settings: Any
) -> Iterator[Rig]:
    """A sandbox portal (on `portal_clock`), a rules folder holding `rules`, and the resources of one
    worker process with `settings` (Settings field names) over the defaults."""
    # Not tmp_path: pytest sessions running at once on this machine prune each other's basetemp.
    folder = Path(tempfile.mkdtemp(prefix="b24rules-inprocess-"))
    (folder / "rules").mkdir()
    (folder / "rules" / "rules.yaml").write_text(rules)
    try:
        with SandboxServer(clock=portal_clock) as sandbox:
            config = settings_for(folder, sandbox.webhook_url, **settings)
            resources = build_resources(config, component="worker", configure=False)
            try:
                yield Rig(sandbox, resources, folder)
            finally:
                resources.engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def commits_writing(engine: Engine, prefixes: tuple[str, ...]) -> list[str]:
    """From now on, one item per commit of a transaction that ran a statement starting with one of
    `prefixes` (upper case): that first statement."""
    writes: list[str] = []
    commits: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith(prefixes):
            writes.append(statement)

    def committed(_conn: object) -> None:
        if writes:
            commits.append(writes[0])
            writes.clear()

    sqlalchemy_event.listen(engine, "before_cursor_execute", seen)
    sqlalchemy_event.listen(engine, "commit", committed)
    return commits

"""A big sandbox portal, seeded straight into its model (no REST, no history rows, no events).

Tasks changed over the last `task_days`, in id order; each has `per_task` manual time entries created
over the last `entry_days` (so a `B24_RESCAN_HOURS` window holds its share of them); every
`zero_every`-th entry is 0 s, which the shipped zero-duration rule deletes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from service.sandbox import Portal
from service.sandbox.model import Entry, Task


def seed(
    portal: Portal, tasks: int, per_task: int = 10, *, task_days: float = 30, entry_days: float = 365,
    zero_every: int = 50,
) -> None:  # fmt: skip
    now = portal.now()
    task_step = timedelta(days=task_days) / tasks
    entry_step = timedelta(days=entry_days) / (tasks * per_task)

    def all_tasks() -> Iterator[Task]:
        for task_id in range(1, tasks + 1):
            changed = now - task_step * (tasks - task_id)
            yield Task(task_id, f"task {task_id}", 3, 1, 1, changed, changed, changed)

    def all_entries() -> Iterator[Entry]:
        for n in range(tasks * per_task):
            # Entry n belongs to task n % tasks: each task's entries spread over the whole period.
            created = (now - entry_step * (tasks * per_task - n)).replace(microsecond=0)
            seconds = 0 if n % zero_every == 0 else 60 * (1 + n % 90)
            yield Entry.manual(n + 1, n % tasks + 1, 1, seconds, "", created, created)

    portal.load(all_tasks(), all_entries())

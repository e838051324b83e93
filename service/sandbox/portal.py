"""The sandbox portal's state: users, webhooks, tasks, time entries, history, limits, faults, stats.

All mutation goes through ``Portal`` methods, which hold one re-entrant lock, so the threaded HTTP
server, the control API and in-process tests can share a portal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .application import Application
from .faults import FaultInjector
from .limits import Clock, LeakyBucket, OperatingBudget
from .model import SOURCE_MANUAL, Entry, HistoryRow, Task, User, Webhook, parse_date
from .stats import Stats

# Values of the sample event bodies in tests/sandbox/samples, so demo events match them.
SAMPLE_DOMAIN = "acme.bitrix24.com"
SAMPLE_MEMBER_ID = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
SAMPLE_APPLICATION_TOKEN = "k3v9w2x8y7z6q5p4o3n2m1l0k9j8h7g6"  # noqa: S105 (public sample value)

STATUS_ACTIONS = {"start": 3, "pause": 2, "complete": 5, "approve": 5, "renew": 2, "defer": 6, "review": 4}


@dataclass
class PortalConfig:
    rate: float = 2.0  # leaky-bucket drain, requests per second
    burst: float = 50.0  # leaky-bucket size
    operating_limit: float = 480.0  # seconds of one method's execution time per 10 minutes
    method_time: float = 0.01  # simulated execution seconds of a call
    method_times: dict[str, float] = field(default_factory=dict)  # per method override
    # The getlist docs say at most 50 rows per answer; the kernel returns every entry of one task when
    # no NAV_PARAMS are given. False: the kernel's way; True: the docs' cap (``next`` says there is more).
    elapsed_page_cap: bool = False
    domain: str = SAMPLE_DOMAIN
    member_id: str = SAMPLE_MEMBER_ID
    application_token: str = SAMPLE_APPLICATION_TOKEN


class Portal:
    def __init__(
        self,
        *,
        admin_code: str = "sandbox",
        seed: int | None = 0,
        clock: Clock = time.time,
        tz: timezone = timezone(timedelta(hours=3)),
        config: PortalConfig | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.tz = tz
        self.config = config or PortalConfig()
        self.faults = FaultInjector(seed)
        self.wake = threading.Event()  # set to cut injected hangs short (reset, shutdown)
        self.admin_code = admin_code
        # Other portals whose tokens this portal's OAuth server also renews, with their base URLs: in
        # the cloud one authorization server (oauth.bitrix.info) serves every portal.
        self.oauth_peers: list[tuple[Portal, str]] = []
        self._clear_state()

    def _clear_state(self) -> None:
        self.users: dict[int, User] = {}
        self.webhooks: dict[tuple[int, str], Webhook] = {}
        self.tasks: dict[int, Task] = {}
        self.entries: dict[int, Entry] = {}
        # Per-task indexes, so a portal of 1,000,000 entries reads one task's rows without a full scan.
        self._task_entries: dict[int, dict[int, Entry]] = {}
        self._task_history: dict[int, list[HistoryRow]] = {}
        # Task comments and system notifications posted through REST (messages_api.py), oldest first.
        self.messages: list[dict[str, Any]] = []
        self.stats = Stats()
        self.bucket = LeakyBucket(self.config.rate, self.config.burst)
        self.operating = OperatingBudget(self.config.operating_limit)
        self._ids = {"task": 1, "entry": 1, "history": 1}
        self.add_user(1, "John", "Smith", "admin")
        self.add_user(503, "Maria", "Johnson", "maria@example.com")
        self.add_webhook(1, self.admin_code, admin=True)
        self.app = Application()  # the local application, once installed (application.py)

    def reset(self) -> None:
        """Forget all data, counters and faults; keep rate/burst/operating settings."""
        with self.lock:
            self.wake.set()
            self.faults.config = type(self.faults.config)()
            self._clear_state()
            self.wake.clear()

    def configure(self, **values: Any) -> None:
        """Change ``PortalConfig`` fields; rate/burst/limit apply to the live limiters at once."""
        with self.lock:
            for key, value in values.items():
                if not hasattr(self.config, key):
                    raise KeyError(key)
                setattr(self.config, key, value)
            self.bucket.rate, self.bucket.burst = self.config.rate, self.config.burst
            self.operating.limit = self.config.operating_limit

    # --- clock, users, webhooks -------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), self.tz).replace(microsecond=0)

    def _next(self, kind: str) -> int:
        value = self._ids[kind]
        self._ids[kind] = value + 1
        return value

    def add_user(self, user_id: int, name: str, last_name: str = "", login: str = "") -> User:
        with self.lock:
            user = User(user_id, name, last_name, login or f"user{user_id}")
            self.users[user_id] = user
            return user

    def add_webhook(
        self, user_id: int, code: str, *, admin: bool = False, scopes: Iterable[str] = ("task",)
    ) -> Webhook:
        with self.lock:
            if user_id not in self.users:
                self.add_user(user_id, f"User{user_id}")
            hook = Webhook(user_id, code, admin, tuple(scopes))
            self.webhooks[(user_id, code)] = hook
            return hook

    def authenticate(self, user_id: int, code: str) -> Webhook | None:
        with self.lock:
            return self.webhooks.get((user_id, code))

    def can_see(self, hook: Webhook, task: Task | None) -> bool:
        return task is not None and (hook.admin or task.visible_to(hook.user_id))

    def user(self, user_id: int) -> User:
        return self.users.get(user_id) or User(user_id, f"User{user_id}", "", f"user{user_id}")

    # --- tasks ----------------------------------------------------------------------------
    def create_task(
        self,
        title: str = "Sandbox task",
        *,
        task_id: int | None = None,
        status: int = 2,
        created_by: int = 1,
        responsible_id: int = 1,
        group_id: int = 0,
        tags: Iterable[str] = (),
        entries: Iterable[dict[str, Any]] = (),
        accomplices: Iterable[int] = (),
        auditors: Iterable[int] = (),
    ) -> Task:
        """A new task (writes a NEW history row), then its entries via ``add_entry``."""
        with self.lock:
            tid = task_id if task_id is not None else max([self._ids["task"], *[t + 1 for t in self.tasks]])
            if tid in self.tasks:
                raise ValueError(f"task {tid} exists")
            self._ids["task"] = max(self._ids["task"], tid + 1)
            now = self.now()
            task = Task(tid, title, 2, created_by, responsible_id, now, now, now, group_id=group_id)
            task.tags = [(i + 1, t) for i, t in enumerate(tags)]
            task.accomplices, task.auditors = [int(u) for u in accomplices], [int(u) for u in auditors]
            self.tasks[tid] = task
            self._history(tid, "NEW", None, None, created_by)
            for spec in entries:
                self.add_entry(tid, **spec)
            if status != 2:
                self.set_status(tid, status, user_id=responsible_id)
            return task

    def get_task(self, task_id: int) -> Task | None:
        with self.lock:
            return self.tasks.get(task_id)

    def delete_task(self, task_id: int) -> None:
        with self.lock:
            self.tasks.pop(task_id, None)
            for entry_id in self._task_entries.pop(task_id, {}):
                del self.entries[entry_id]

    def set_status(self, task_id: int, status: int | str, *, user_id: int = 1) -> Task:
        """Change the status like the task UI does: STATUS history row, dates, closed fields."""
        with self.lock:
            new = STATUS_ACTIONS[status] if isinstance(status, str) else int(status)
            if new not in (2, 3, 4, 5, 6):
                raise ValueError(f"status must be 2..6, got {status!r}")
            task = self.tasks[task_id]
            old, now = task.status, self.now()
            self._history(task_id, "STATUS", str(old), str(new), user_id)
            task.status = new
            task.status_changed_date = task.changed_date = now
            task.status_changed_by = task.changed_by = user_id
            task.closed_date, task.closed_by = (now, user_id) if new == 5 else (None, None)
            return task

    # --- time entries ---------------------------------------------------------------------
    def add_entry(
        self,
        task_id: int,
        seconds: int,
        *,
        user_id: int = 1,
        comment: str = "",
        created_date: str | datetime | None = None,
        timer: bool = False,
    ) -> Entry:
        """Log time by hand, or (``timer``) as the task timer does when it stops after ``seconds``.

        Updates timeSpentInLogs and history, but not changedDate (no task update, no event)."""
        with self.lock:
            now, item_id = self.now(), self._next("entry")
            if timer:
                started = now - timedelta(seconds=int(seconds))
                entry = Entry.timer(item_id, task_id, user_id, int(seconds), started)
            else:
                created = parse_date(created_date, self.tz) or now
                entry = Entry.manual(item_id, task_id, user_id, int(seconds), comment, created, now)
            return self._store_entry(entry)

    def load(self, tasks: Iterable[Task], entries: Iterable[Entry]) -> None:
        """Bulk seeding for big portals (benchmarks): records as given, no history rows, no events."""
        with self.lock:
            self.tasks.update((task.id, task) for task in tasks)
            for entry in entries:
                self._index(entry)
                self.tasks[entry.task_id].time_spent += entry.seconds
            self._ids["task"] = max(self._ids["task"], max(self.tasks, default=0) + 1)
            self._ids["entry"] = max(self._ids["entry"], max(self.entries, default=0) + 1)

    def _index(self, entry: Entry) -> None:
        self.entries[entry.id] = entry
        self._task_entries.setdefault(entry.task_id, {})[entry.id] = entry

    def _store_entry(self, entry: Entry) -> Entry:
        self._index(entry)
        self._spent(self.tasks[entry.task_id], entry.seconds, entry.user_id)
        return entry

    def update_entry(
        self,
        item_id: int,
        *,
        seconds: int | None = None,
        comment: str | None = None,
        created_date: str | datetime | None = None,
        user_id: int = 1,
    ) -> Entry:
        """Edit in place (task.elapseditem.update or the UI): same id, no event, changedDate untouched.

        A changed duration makes the entry manual (kernel CTaskElapsedTime::Update)."""
        with self.lock:
            entry = self.entries[item_id]
            if seconds is not None and seconds != entry.seconds:
                self._spent(self.tasks[entry.task_id], seconds - entry.seconds, user_id)
                entry.seconds, entry.source = seconds, SOURCE_MANUAL
            if comment is not None:
                entry.comment = comment
            entry.created_date = parse_date(created_date, self.tz) or entry.created_date
            return entry

    def delete_entry(self, item_id: int, *, user_id: int = 1) -> Entry:
        with self.lock:
            entry = self.entries.pop(item_id)
            self._task_entries.get(entry.task_id, {}).pop(item_id, None)
            task = self.tasks.get(entry.task_id)
            if task is not None:
                self._spent(task, -entry.seconds, user_id)
            return entry

    def entries_of(self, task_id: int | None) -> list[Entry]:
        with self.lock:
            if task_id is None:
                return list(self.entries.values())
            return list(self._task_entries.get(task_id, {}).values())

    def _spent(self, task: Task, delta: int, user_id: int) -> None:
        before = task.time_spent
        task.time_spent = max(0, before + delta)
        self._history(task.id, "TIME_SPENT_IN_LOGS", str(before), str(task.time_spent), user_id)

    def _history(self, task_id: int, name: str, old: str | None, new: str | None, user_id: int) -> None:
        row = HistoryRow(self._next("history"), task_id, self.now(), name, old, new, user_id)
        self._task_history.setdefault(task_id, []).append(row)

    def history_of(self, task_id: int) -> list[HistoryRow]:
        with self.lock:
            return list(self._task_history.get(task_id, ()))

    # --- what was served ------------------------------------------------------------------
    def served(self, status: int) -> int:
        """HTTP responses with this status served so far."""
        with self.lock:
            return self.stats.http_by_status.get(status, 0)

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """The request log (batch sub-commands included), optionally for one method."""
        with self.lock:
            return [r.as_dict() for r in self.stats.log if method is None or r.method == method.lower()]

"""Portal records (tasks, time entries, history rows, users, webhooks) and their REST shapes.

Bitrix24 sends every number as a string and dates as ISO-8601 with the portal's offset
(https://apidocs.bitrix24.com/api-reference/tasks/tasks-task-get.md,
.../elapsed-item/task-elapsed-item-get-list.md); the serialisers here are the one place that does so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

STATUSES = {2: "pending", 3: "in_progress", 4: "awaiting_review", 5: "completed", 6: "deferred"}


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def parse_date(value: Any, tz: timezone) -> datetime | None:
    """ISO or ``YYYY-MM-DD HH:MM:SS`` (naive → portal time zone); None when unreadable."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


@dataclass
class User:
    id: int
    name: str
    last_name: str
    login: str
    second_name: str = ""

    def rest(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "lastName": self.last_name,
            "secondName": self.second_name,
            "login": self.login,
        }


@dataclass
class Webhook:
    """An incoming webhook: it acts with its creator's rights, within the scopes chosen for it."""

    user_id: int
    code: str
    admin: bool
    scopes: tuple[str, ...] = ("task",)
    oauth: bool = False  # an application's access token rather than an incoming webhook


SOURCE_MANUAL = 2  # added or edited by a person (the UI, REST)
SOURCE_SYSTEM = 3  # written by the task timer when it stops


@dataclass
class Entry:
    """A time entry. DATE_START/DATE_STOP as the kernel stores them (see ``manual``/``timer``)."""

    id: int
    task_id: int
    user_id: int
    seconds: int
    comment: str
    created_date: datetime
    source: int
    date_start: datetime
    date_stop: datetime

    @classmethod
    def manual(
        cls, item_id: int, task_id: int, user_id: int, seconds: int, comment: str, created: datetime,
        now: datetime,
    ) -> Entry:  # fmt: skip
        # A manual entry's CREATED_DATE is the start date the user gave; DATE_START and DATE_STOP are
        # both the moment the record was written (the getlist page's note and its example answer:
        # https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/task-elapsed-item-get-list.html).
        return cls(item_id, task_id, user_id, seconds, comment, created, SOURCE_MANUAL, now, now)

    @classmethod
    def timer(cls, item_id: int, task_id: int, user_id: int, seconds: int, started: datetime) -> Entry:
        # The timer writes CREATED_DATE = DATE_START = when it started, DATE_STOP = start + seconds,
        # SOURCE system (kernel CTaskTimerManager::stop).
        stop = started + timedelta(seconds=seconds)
        return cls(item_id, task_id, user_id, seconds, "", started, SOURCE_SYSTEM, started, stop)

    def rest(self) -> dict[str, str]:
        return {
            "ID": str(self.id),
            "TASK_ID": str(self.task_id),
            "USER_ID": str(self.user_id),
            "COMMENT_TEXT": self.comment,
            "SECONDS": str(self.seconds),
            "MINUTES": str(round(self.seconds / 60)),
            "SOURCE": str(self.source),
            "CREATED_DATE": iso(self.created_date) or "",
            "DATE_START": iso(self.date_start) or "",
            "DATE_STOP": iso(self.date_stop) or "",
        }


@dataclass
class HistoryRow:
    id: int
    task_id: int
    created_date: datetime
    field: str
    value_from: str | None
    value_to: str | None
    user_id: int


@dataclass
class Task:
    id: int
    title: str
    status: int
    created_by: int
    responsible_id: int
    created_date: datetime
    changed_date: datetime
    status_changed_date: datetime
    group_id: int = 0
    description: str = ""
    priority: int = 1
    tags: list[tuple[int, str]] = field(default_factory=list)
    closed_by: int | None = None
    closed_date: datetime | None = None
    deadline: datetime | None = None
    changed_by: int = 0
    status_changed_by: int = 0
    time_spent: int = 0
    accomplices: list[int] = field(default_factory=list)
    auditors: list[int] = field(default_factory=list)

    def visible_to(self, user_id: int) -> bool:
        """A non-admin sees a task only as one of its members (creator, responsible, accomplice,
        auditor); to anyone else it does not exist (tasks.task.get answers ``[]``)."""
        return user_id in (self.created_by, self.responsible_id, *self.accomplices, *self.auditors)

    def fields(self) -> dict[str, Any]:
        """UPPER_CASE field → REST value (strings, ISO dates, null)."""
        return {
            "ID": str(self.id),
            "PARENT_ID": None,
            "TITLE": self.title,
            "DESCRIPTION": self.description,
            "PRIORITY": str(self.priority),
            "STATUS": str(self.status),
            "GROUP_ID": str(self.group_id),
            "CREATED_BY": str(self.created_by),
            "CREATED_DATE": iso(self.created_date),
            "RESPONSIBLE_ID": str(self.responsible_id),
            "CHANGED_BY": str(self.changed_by or self.created_by),
            "CHANGED_DATE": iso(self.changed_date),
            "STATUS_CHANGED_BY": str(self.status_changed_by or self.created_by),
            "STATUS_CHANGED_DATE": iso(self.status_changed_date),
            "CLOSED_BY": str(self.closed_by or 0),
            "CLOSED_DATE": iso(self.closed_date),
            "DEADLINE": iso(self.deadline),
            "TIME_SPENT_IN_LOGS": str(self.time_spent),
        }

    def tags_rest(self) -> dict[str, dict[str, str]] | list[Any]:
        # PHP serialises an empty array as ``[]``, a keyed one as an object.
        return {str(i): {"id": str(i), "title": t} for i, t in self.tags} if self.tags else []

    def rest(self, select: list[str]) -> dict[str, Any]:
        """``tasks.task.get`` shape: camelCase keys of the selected fields (``*`` = all but TAGS)."""
        wanted = [s.upper() for s in select if isinstance(s, str)] or ["*"]
        fields = self.fields()
        names = list(fields) if "*" in wanted else ["ID", *[w for w in wanted if w in fields and w != "ID"]]
        out = {camel(name): fields[name] for name in names}
        if "TAGS" in wanted:
            out["tags"] = self.tags_rest()
        return out


def camel(name: str) -> str:
    head, *rest = name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def upper_snake(name: str) -> str:
    """``createdDate`` or ``CREATED_DATE`` → ``CREATED_DATE``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).upper()

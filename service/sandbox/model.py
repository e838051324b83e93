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
    user_id: int
    code: str
    admin: bool


@dataclass
class Entry:
    id: int
    task_id: int
    user_id: int
    seconds: int
    comment: str
    created_date: datetime
    source: int = 2

    def rest(self) -> dict[str, str]:
        stop = self.created_date + timedelta(seconds=self.seconds)
        return {
            "ID": str(self.id),
            "TASK_ID": str(self.task_id),
            "USER_ID": str(self.user_id),
            "COMMENT_TEXT": self.comment,
            "SECONDS": str(self.seconds),
            "MINUTES": str(round(self.seconds / 60)),
            "SOURCE": str(self.source),
            "CREATED_DATE": iso(self.created_date) or "",
            "DATE_START": iso(self.created_date) or "",
            "DATE_STOP": iso(stop) or "",
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

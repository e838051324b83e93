"""Facts: the typed values rules talk about, parsed from what Bitrix24 sends (strings, mostly).

Task facts come from `tasks.task.get` → `result.task` (camelCase keys, numbers as strings; see
https://apidocs.bitrix24.com/api-reference/tasks/tasks-task-get.html), entry facts from
`task.elapseditem.getlist` items (UPPER_CASE keys, every value a string; see
api-reference/tasks/elapsed-item/task-elapsed-item-get-list.html). A value the portal leaves out, sends
empty or sends malformed becomes `None`: a rule then simply does not match, evaluation never crashes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from service.core.positions import describe_value, did_you_mean, quote


class FactType(Enum):
    INT = "int"
    STR = "str"
    DATETIME = "datetime"
    BOOL = "bool"
    TAGS = "list[str]"
    STATUS = "status"


# Bitrix24 task STATUS codes 2-6 (tasks.task.getFields); 1 and 7 are legacy and not nameable in rules.
STATUS_NAMES = {"pending": 2, "in_progress": 3, "awaiting_review": 4, "completed": 5, "deferred": 6}

EVENT_NAMES = ("ONTASKADD", "ONTASKUPDATE", "ONTASKDELETE")
EVENT_SOURCES = ("event", "sweep", "replay")
# Text facts whose values form a closed set: a rule comparing them with anything else is a typo.
CLOSED_VALUES: dict[str, tuple[str, ...]] = {"event.name": EVENT_NAMES, "event.source": EVENT_SOURCES}

N, S, D, B = FactType.INT, FactType.STR, FactType.DATETIME, FactType.BOOL
FACT_TYPES: dict[str, FactType] = {
    "event.name": S, "event.ts": D, "event.domain": S, "event.member_id": S, "event.source": S,
    "task.id": N, "task.title": S, "task.status": FactType.STATUS, "task.previous_status": FactType.STATUS,
    "task.reopened": B, "task.reopened_at": D, "task.closed_date": D, "task.changed_date": D,
    "task.status_changed_date": D, "task.responsible_id": N, "task.created_by": N, "task.group_id": N,
    "task.tags": FactType.TAGS, "task.time_spent": N, "task.deadline": D,
    "entry.id": N, "entry.task_id": N, "entry.user_id": N, "entry.seconds": N, "entry.minutes": N,
    "entry.comment": S, "entry.source": N, "entry.created_date": D, "entry.date_start": D,
    "entry.date_stop": D,
}  # fmt: skip

# Task fact → (key in the camelCase tasks.task.get response, UPPER_CASE name for its `select`).
TASK_SOURCES: dict[str, tuple[str, str]] = {
    "task.id": ("id", "ID"), "task.title": ("title", "TITLE"), "task.status": ("status", "STATUS"),
    "task.closed_date": ("closedDate", "CLOSED_DATE"), "task.changed_date": ("changedDate", "CHANGED_DATE"),
    "task.status_changed_date": ("statusChangedDate", "STATUS_CHANGED_DATE"),
    "task.responsible_id": ("responsibleId", "RESPONSIBLE_ID"),
    "task.created_by": ("createdBy", "CREATED_BY"),
    "task.group_id": ("groupId", "GROUP_ID"), "task.tags": ("tags", "TAGS"),
    "task.time_spent": ("timeSpentInLogs", "TIME_SPENT_IN_LOGS"), "task.deadline": ("deadline", "DEADLINE"),
}  # fmt: skip

# Facts that come from comparing the task with its past (transitions.py), not from tasks.task.get.
TRANSITION_FACTS = frozenset({"task.previous_status", "task.reopened", "task.reopened_at"})

ENTRY_SOURCES: dict[str, str] = {
    "entry.id": "ID", "entry.task_id": "TASK_ID", "entry.user_id": "USER_ID", "entry.seconds": "SECONDS",
    "entry.minutes": "MINUTES", "entry.comment": "COMMENT_TEXT", "entry.source": "SOURCE",
    "entry.created_date": "CREATED_DATE", "entry.date_start": "DATE_START", "entry.date_stop": "DATE_STOP",
}  # fmt: skip

_INT = re.compile(r"^-?[0-9]{1,18}$")


@dataclass(frozen=True)
class EventInput:
    """What the engine needs to know about the event being evaluated."""

    name: str
    ts: datetime | None
    domain: str
    member_id: str
    source: str  # one of EVENT_SOURCES


def parse_int(raw: object) -> int | None:
    if type(raw) is str and len(raw) <= 18 and raw.isascii() and raw.isdigit():
        return int(raw)  # the common case (the portal's "123"), decided without the regex
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and _INT.match(raw.strip()):
        return int(raw.strip())
    return None


def parse_datetime(raw: object) -> datetime | None:
    """An ISO-8601 datetime with an offset; a naive one is None, since the portal's zone is unknown here."""
    if isinstance(raw, datetime):
        return raw if raw.tzinfo is not None else None
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def parse_str(raw: object) -> str | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, str | int):
        return str(raw) or None
    return None


def parse_bool(raw: object) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if raw in ("Y", "true", "1"):
        return True
    if raw in ("N", "false", "0"):
        return False
    return None


def parse_tags(raw: object) -> tuple[str, ...] | None:
    """`tags` is `{"<id>": {"id", "title"}}`, or `[]` when there are none (PHP's empty array)."""
    if isinstance(raw, Mapping):
        raw = list(raw.values())
    if not isinstance(raw, list):
        return None
    titles = (item.get("title") if isinstance(item, Mapping) else item for item in raw)
    return tuple(title for title in titles if isinstance(title, str) and title)


def parse_status(raw: object) -> int | None:
    return parse_int(raw)


PARSERS = {
    FactType.INT: parse_int,
    FactType.STR: parse_str,
    FactType.DATETIME: parse_datetime,
    FactType.BOOL: parse_bool,
    FactType.TAGS: parse_tags,
    FactType.STATUS: parse_status,
}


def task_facts(task: Mapping[str, object]) -> dict[str, object]:
    """The task.* facts from a raw `result.task` (transition facts are added by the caller)."""
    facts: dict[str, object] = {}
    for name, (camel, upper) in TASK_SOURCES.items():
        raw = task.get(camel, task.get(upper))
        facts[name] = PARSERS[FACT_TYPES[name]](raw)
    return facts


def entry_facts(entry: Mapping[str, object]) -> dict[str, object]:
    return {name: PARSERS[FACT_TYPES[name]](entry.get(key)) for name, key in ENTRY_SOURCES.items()}


def entry_facts_of(entry: Mapping[str, object], names: frozenset[str]) -> dict[str, object]:
    """`entry_facts`, parsing only the facts in `names` (those the rules read)."""
    return {name: PARSERS[FACT_TYPES[name]](entry.get(ENTRY_SOURCES[name])) for name in names}


class EntryColumns(dict[str, list[object]]):
    """Entry facts column by column (fact → its value for each entry, in order), each column parsed from
    the raw entries the first time it is read: the facts no rule reaches are never parsed."""

    def __init__(self, entries: Sequence[Mapping[str, object]]) -> None:
        super().__init__()
        self._entries = entries

    def __missing__(self, name: str) -> list[object]:
        key, parse = ENTRY_SOURCES[name], PARSERS[FACT_TYPES[name]]
        column: list[object] = [parse(entry.get(key)) for entry in self._entries]
        self[name] = column
        return column


def event_facts(event: EventInput) -> dict[str, object]:
    return {
        "event.name": event.name.upper(),
        "event.ts": parse_datetime(event.ts),
        "event.domain": event.domain or None,
        "event.member_id": event.member_id or None,
        "event.source": event.source or None,
    }


def coerce(fact_type: FactType, value: object) -> object:
    """A literal written in a rule file → the fact's type; raises ValueError saying what was expected."""
    if fact_type is FactType.STATUS:
        return coerce_status(value)
    if fact_type is FactType.DATETIME:
        return coerce_datetime(value)
    if fact_type is FactType.INT and type(value) is int:
        return value
    if fact_type is FactType.BOOL and isinstance(value, bool):
        return value
    if fact_type in (FactType.STR, FactType.TAGS) and isinstance(value, str):
        return value
    wanted = {FactType.INT: "a whole number", FactType.BOOL: "true or false"}.get(fact_type, "a string")
    raise ValueError(f"expected {wanted}, got {_describe(value)}")


def coerce_status(value: object) -> int:
    if type(value) is int and value in STATUS_NAMES.values():
        return value
    if isinstance(value, str) and value in STATUS_NAMES:
        return STATUS_NAMES[value]
    names = ", ".join(STATUS_NAMES)
    if isinstance(value, str):
        hint = did_you_mean(value, STATUS_NAMES)
        raise ValueError(f"unknown status {quote(value)}{hint}; use one of {names} or 2-6")
    raise ValueError(f"expected a status ({names} or 2-6), got {_describe(value)}")


def coerce_datetime(value: object) -> datetime:
    """ISO-8601 datetime with offset, or a date (taken as midnight UTC)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is None and len(text) == len("2025-09-01"):
            return parsed.replace(tzinfo=UTC)
        if parsed is not None and parsed.tzinfo is None:
            raise ValueError(f"datetime {quote(text)} needs a UTC offset, e.g. {text[:40]}+00:00")
        if parsed is not None:
            return parsed
    raise ValueError(f"expected an ISO-8601 date or datetime, got {_describe(value)}")


def _describe(value: object) -> str:
    return describe_value(value)

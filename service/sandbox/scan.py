"""List queries a big portal answers from its records' own fields, as a real portal answers from an index.

A filter and order on ID, TASK_ID, CREATED_DATE or CHANGED_DATE with range operators (what the sweep,
the new-entry watermark and the edit rescan send) is compared on the records' typed attributes, and only
the page shown is serialised: a page of 1,000,000 entries no longer serialises and re-parses them all.
Any other query takes the general path (``filters.matches`` on the REST shape); ``plan`` says which.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .filters import split_key, typed
from .model import upper_snake

ATTRIBUTES = {
    "ID": "id", "TASK_ID": "task_id", "CREATED_DATE": "created_date", "CHANGED_DATE": "changed_date",
}  # fmt: skip
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    tests: tuple[tuple[str, Callable[[Any, Any], bool], int | datetime], ...]  # attribute, op, bound
    order: tuple[tuple[str, bool], ...]  # attribute, descending

    def select(self, records: Sequence[Any]) -> list[Any]:
        """The records that pass every test, sorted (stable, last key first, like ``sort_records``)."""
        chosen = list(records)
        for name, test, bound in self.tests:
            get = operator.attrgetter(name)
            chosen = [r for r in chosen if test(get(r), bound)]
        for name, descending in reversed(self.order):
            key = _to_second(name) if name.endswith("_date") else operator.attrgetter(name)
            chosen.sort(key=key, reverse=descending)
        return chosen


def plan(conditions: dict[str, Any], order: dict[str, Any], tz: timezone, fields: set[str]) -> Plan | None:
    """The fast plan for this query over records with these REST ``fields``, or None (general path)."""
    tests = []
    for key, expected in conditions.items():
        op, name = split_key(str(key))
        bound = typed(expected, tz) if not isinstance(expected, list | dict) else None
        kind = datetime if name.endswith("_DATE") else int
        if name not in ATTRIBUTES or name not in fields or op not in _OPS or not isinstance(bound, kind):
            return None
        tests.append((ATTRIBUTES[name], *_on_raw(op, bound)))
    keys = []
    for key, direction in order.items():
        name = upper_snake(str(key))
        if name not in ATTRIBUTES or name not in fields:
            return None
        keys.append((ATTRIBUTES[name], str(direction).lower() == "desc"))
    return Plan(tuple(tests), tuple(keys))


def _on_raw(op: str, bound: int | datetime) -> tuple[Callable[[Any, Any], bool], int | datetime]:
    """The REST shape shows dates to the second (model.iso), so a date test compares the value truncated
    to its second; the same test on the untruncated value, with the bound moved to a whole second."""
    if not isinstance(bound, datetime):
        return _OPS[op], bound
    floor = bound.replace(microsecond=0)
    ceiling = floor if floor == bound else floor + timedelta(seconds=1)
    next_second = floor + timedelta(seconds=1)
    moved = {">=": (">=", ceiling), ">": (">=", next_second), "<": ("<", ceiling), "<=": ("<", next_second)}
    raw_op, raw_bound = moved[op]
    return _OPS[raw_op], raw_bound


def _to_second(name: str) -> Callable[[Any], datetime]:
    return lambda record: getattr(record, name).replace(microsecond=0)

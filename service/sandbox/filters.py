"""Bitrix24 list filters and orders: ``{">=CHANGED_DATE": …, "!ID": […]}`` and ``{"ID": "desc"}``.

Operator prefixes ``!``, ``<``, ``<=``, ``>``, ``>=`` as in the tasks.task.list and
task.elapseditem.getlist docs; a list value means "any of".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .model import parse_date, upper_snake
from .params import as_list

_PREFIX = re.compile(r"^(>=|<=|!=|!|>|<|=)?(.+)$")
Record = dict[str, Any]


def split_key(key: str) -> tuple[str, str]:
    match = _PREFIX.match(key)
    if not match:
        return "=", key
    return match.group(1) or "=", upper_snake(match.group(2))


def typed(value: Any, tz: timezone) -> int | datetime | str | None:
    if value is None:
        return None
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return parse_date(text, tz) if re.match(r"\d{4}-\d{2}-\d{2}", text) else text


def _compare(actual: Any, op: str, expected: Any, tz: timezone) -> bool:
    a, b = typed(actual, tz), typed(expected, tz)
    if op in ("=", "!", "!="):
        equal = a == b if type(a) is type(b) else str(actual or "") == str(expected)
        return equal if op == "=" else not equal
    if a is None or b is None or type(a) is not type(b):
        return False
    checks: dict[str, Callable[[Any, Any], bool]] = {
        ">": lambda x, y: x > y,
        ">=": lambda x, y: x >= y,
        "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y,
    }
    return checks[op](a, b)


def matches(record: Record, conditions: dict[str, Any], tz: timezone, aliases: dict[str, str]) -> bool:
    for key, expected in conditions.items():
        op, name = split_key(str(key))
        name = aliases.get(name, name)
        if name not in record:
            continue
        values = as_list(expected) if isinstance(expected, list | dict) else [expected]
        hits = [_compare(record[name], op if op not in ("!", "!=") else "=", v, tz) for v in values]
        if op in ("!", "!="):
            if any(hits):
                return False
        elif not any(hits):
            return False
    return True


def sort_records(records: list[Record], order: dict[str, Any], tz: timezone, allowed: set[str]) -> None:
    """Stable multi-key sort, last key first; unknown fields are ignored."""
    keys = [(upper_snake(str(k)), str(v).lower() == "desc") for k, v in order.items()]
    for name, descending in reversed([(n, d) for n, d in keys if n in allowed]):
        records.sort(key=_keyer(name, tz), reverse=descending)


def _keyer(name: str, tz: timezone) -> Callable[[Record], tuple[int, Any]]:
    return lambda record: _sort_key(record.get(name), tz)


def _sort_key(value: Any, tz: timezone) -> tuple[int, Any]:
    known = typed(value, tz)
    if isinstance(known, int):
        return (1, known)
    if isinstance(known, datetime):
        return (2, known.timestamp())
    return (0, "") if known is None else (3, known)

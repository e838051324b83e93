"""Rows out of the portal's answers: task ids and change times, entry ids, status history, recent
entries. A row the API could not have sent (an id that is not a number, a missing date) is a transient
`ERROR_UNEXPECTED_ANSWER`, retried like a portal hiccup, never taken for "no rows"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from service.core.bitrix import BitrixError, NotFound, Reply, TransientError
from service.core.digits import ascii_int


def entry_id_set(answer: Reply | BitrixError) -> frozenset[int] | BitrixError | None:
    if isinstance(answer, NotFound):  # "#1 task not found": the task went, and its entries with it
        return None
    if isinstance(answer, BitrixError):
        return answer
    rows = answer.result if isinstance(answer.result, list) else []
    return frozenset(ids_of(row for row in rows if isinstance(row, dict)))


def ids_of(rows: Iterable[Mapping[str, Any]]) -> list[int]:
    return [item for row in rows if (item := ascii_int(row.get("ID", ""))) is not None]


def history_rows(history: Reply | BitrixError | None) -> list[dict[str, Any]] | None:
    if not isinstance(history, Reply):
        return None
    listed = history.result.get("list") if isinstance(history.result, dict) else None
    return [r for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []


def task_rows(result: object) -> list[tuple[int, datetime]]:
    tasks = result.get("tasks") if isinstance(result, dict) else None
    rows: list[tuple[int, datetime]] = []
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict):
            raise TransientError("ERROR_UNEXPECTED_ANSWER", "bad task row", 200, "tasks.task.list")
        task_id = task.get("id", task.get("ID"))
        changed = task.get("changedDate", task.get("CHANGED_DATE"))
        try:
            rows.append((int(str(task_id)), datetime.fromisoformat(str(changed))))
        except (TypeError, ValueError):
            raise TransientError("ERROR_UNEXPECTED_ANSWER", "bad task row", 200, "tasks.task.list") from None
    return rows


def recent_rows(result: object) -> list[dict[str, Any]]:
    rows = [row for row in result if isinstance(row, dict)] if isinstance(result, list) else []
    if any(ascii_int(row.get("ID", "")) is None for row in rows):
        raise TransientError("ERROR_UNEXPECTED_ANSWER", "bad entry row", 200, "task.elapseditem.getlist")
    return rows


def entry_rows(result: object) -> list[tuple[int, int]]:
    method = "task.elapseditem.getlist"
    rows: list[tuple[int, int]] = []
    for row in result if isinstance(result, list) else []:
        try:
            rows.append((int(str(row["ID"])), int(str(row["TASK_ID"]))))
        except (KeyError, TypeError, ValueError):
            raise TransientError("ERROR_UNEXPECTED_ANSWER", "bad entry row", 200, method) from None
    return rows

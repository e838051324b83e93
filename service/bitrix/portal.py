"""What the worker needs from a portal, each in as few HTTP requests as the API allows.

Reads for many tasks share `batch` requests (task + its time entries + optionally its status history),
deletions go 50 to a batch whatever task they belong to, and "already gone" counts as deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol

from service.bitrix.answers import entry_id_set, entry_rows, history_rows, ids_of, recent_rows, task_rows
from service.bitrix.paging import complete_entries, more_rows
from service.core.bitrix import (
    ENTRY_PAGE,
    MAX_COMMANDS,
    BitrixError,
    Call,
    NotFound,
    PermanentError,
    Reply,
    Rights,
    TransientError,
    entries_after,
    entries_created_since,
    entries_list,
    entry_add,
    entry_delete,
    judge_rights,
    pack,
    rights_calls,
    status_history,
    task_get,
    task_list_changed,
)


class Transport(Protocol):
    def call(self, call: Call) -> Reply: ...

    def batch(self, calls: Mapping[str, Call], halt: bool = False) -> dict[str, Reply | BitrixError]: ...


@dataclass(frozen=True)
class TaskState:
    """A task as read now: `task` None means it is gone (deleted or no longer visible to the webhook)."""

    task: dict[str, Any] | None
    entries: list[dict[str, Any]]
    history: list[dict[str, Any]] | None  # STATUS rows, newest first; None when not asked for


DeleteOutcome = Literal["deleted", "gone"] | BitrixError


class PortalGateway:
    def __init__(self, client: Transport) -> None:
        self._client = client

    def fetch(
        self, task_ids: Sequence[int], select: Sequence[str], with_history: Iterable[int] = ()
    ) -> dict[int, TaskState | BitrixError]:
        """Each task's state, or the error that kept us from reading it; several tasks per batch."""
        history = set(with_history)
        groups: list[dict[str, Call]] = []
        for task_id in dict.fromkeys(int(t) for t in task_ids):
            calls = {f"t{task_id}": task_get(task_id, select), f"e{task_id}": entries_list(task_id)}
            if task_id in history:
                calls[f"h{task_id}"] = status_history(task_id)
            if not groups or len(groups[-1]) + len(calls) > MAX_COMMANDS:
                groups.append({})
            groups[-1].update(calls)
        out: dict[int, TaskState | BitrixError] = {}
        unfinished: dict[int, list[dict[str, Any]]] = {}  # task → entries so far, when more exist
        for calls, answers in self._run(groups):
            for key in calls:
                if key.startswith("t"):
                    task_id = int(key[1:])
                    state = out[task_id] = _state(task_id, answers)
                    if _partial(state, answers[f"e{task_id}"]):
                        assert isinstance(state, TaskState)
                        unfinished[task_id] = state.entries
        for task_id, rows in complete_entries(self._run, unfinished).items():
            state = out[task_id]
            assert isinstance(state, TaskState)  # only readable tasks were unfinished
            out[task_id] = rows if isinstance(rows, BitrixError) else replace(state, entries=rows)
        return out

    def rights(self) -> Rights:
        """Whether these credentials may do the work (administrator, scope task): one batch request.

        Raises a transient `BitrixError` when the portal could not be asked (try again later)."""
        return judge_rights(self.ask_rights())

    def ask_rights(self) -> Mapping[str, Reply | BitrixError]:
        """The raw answers `rights` judges: `profile`, `scope`, `tasks` (one page of tasks)."""
        return self._client.batch(rights_calls())

    def server_time(self) -> datetime:
        """The portal's clock (`server.time`, ISO 8601 with its offset)."""
        reply = self._client.call(Call("server.time"))
        try:
            return datetime.fromisoformat(str(reply.result))
        except ValueError:
            raise TransientError("ERROR_UNEXPECTED_ANSWER", "no time in answer", 200, "server.time") from None

    def delete(self, items: Sequence[tuple[int, int]]) -> dict[tuple[int, int], DeleteOutcome]:
        """Delete time entries `(task_id, item_id)`; `gone` when the portal no longer has them."""
        unique = list(dict.fromkeys((int(t), int(i)) for t, i in items))
        calls = {f"d{n}": entry_delete(task_id, item_id) for n, (task_id, item_id) in enumerate(unique)}
        out: dict[tuple[int, int], DeleteOutcome] = {}
        for batch_calls, answers in self._run(pack(calls)):
            for key in batch_calls:
                answer = answers[key]
                item = unique[int(key[1:])]
                if isinstance(answer, NotFound):
                    out[item] = "gone"
                else:
                    out[item] = answer if isinstance(answer, BitrixError) else "deleted"
        return out

    def send(self, calls: Sequence[Call]) -> list[Reply | BitrixError]:
        """Independent calls (comments, notifications), 50 to a batch; each call's answer or its error."""
        keyed = {f"m{n}": call for n, call in enumerate(calls)}
        answers: dict[str, Reply | BitrixError] = {}
        for _, replies in self._run(pack(keyed)):
            answers.update(replies)
        return [answers[f"m{n}"] for n in range(len(calls))]

    def entry_ids(self, task_ids: Sequence[int]) -> dict[int, frozenset[int] | BitrixError | None]:
        """The ids of each task's time entries as read now (None: the task is gone), or the read's error.

        The fresh read that settles a deletion whose answer did not (`service/core/settling.py`)."""
        calls = {f"e{t}": entries_list(t, ("ID",)) for t in dict.fromkeys(int(t) for t in task_ids)}
        out: dict[int, frozenset[int] | BitrixError | None] = {}
        unfinished: dict[int, list[dict[str, Any]]] = {}  # a list that says more rows exist: read them all
        for batch_calls, answers in self._run(pack(calls)):
            for key in batch_calls:
                task_id, answer = int(key[1:]), answers[key]
                out[task_id] = entry_id_set(answer)
                if not isinstance(answer, Reply) or not isinstance(answer.result, list):
                    continue
                if more_rows(answer, len(answer.result)):
                    unfinished[task_id] = [row for row in answer.result if isinstance(row, dict)]
        for task_id, found in complete_entries(self._run, unfinished).items():
            out[task_id] = found if isinstance(found, BitrixError) else frozenset(ids_of(found))
        return out

    def add_entry(
        self,
        task_id: int,
        seconds: int,
        comment: str,
        user_id: int | None = None,
        created_date: datetime | None = None,
    ) -> int:
        """Create a time entry (used by `restore`); its new ID."""
        reply = self._client.call(entry_add(task_id, seconds, comment, user_id, created_date))
        try:
            return int(reply.result)
        except (TypeError, ValueError):
            # Permanent, not transient: the entry may exist already and a retry would duplicate it.
            method = "task.elapseditem.add"
            raise PermanentError("ERROR_UNEXPECTED_ANSWER", "no entry id in answer", 200, method) from None

    def changed_since(self, since: datetime) -> Iterator[tuple[int, datetime]]:
        """(task id, CHANGED_DATE) of every task changed at or after `since`, oldest first.

        Pages move the `since` boundary forward instead of only `start`, so a task that changes while
        we page is seen again later rather than shifting another one out of view; `start` only skips
        the tasks already seen with exactly the boundary timestamp. A task may be yielded twice.
        """
        boundary, skip = since, 0
        while True:
            reply = self._client.call(task_list_changed(boundary, skip))
            rows = task_rows(reply.result)
            yield from rows
            if not rows or not more_rows(reply, skip + len(rows)):
                return
            last = rows[-1][1]
            same = sum(1 for _, changed in rows if changed == last)
            skip = skip + same if last == boundary else same
            boundary = last

    def newest_entry_id(self) -> int:
        """The highest time-entry id on the portal (0 when there is none)."""
        rows = entry_rows(self._client.call(entries_after(0, newest_first=True, page_size=1)).result)
        return rows[0][0] if rows else 0

    def entries_after(self, last_id: int, max_pages: int) -> Iterator[tuple[int, int]]:
        """(entry id, task id) of every entry with an id above `last_id`, lowest first, across all tasks;
        at most `max_pages` requests of 50 (the caller's watermark picks up the rest next time)."""
        for _page in range(max_pages):
            rows = entry_rows(self._client.call(entries_after(last_id)).result)
            yield from rows
            if len(rows) < ENTRY_PAGE:
                return
            last_id = max(entry_id for entry_id, _ in rows)

    def recent_entries(
        self, since: datetime, max_requests: int, after_id: int = 0
    ) -> Iterator[dict[str, Any]]:
        """Every time entry created at or after `since` with an id above `after_id`, across all tasks,
        lowest id first, in few requests: one call learns how many there are (`total`), then batches of up
        to 50 pages (2,500 entries) each. Stops after `max_requests` HTTP requests, having read at most
        `recent_capacity(max_requests)` entries; a caller that read that many resumes after the last id."""
        first = self._client.call(entries_created_since(since, after_id))
        rows = recent_rows(first.result)
        yield from rows
        left = (first.total - len(rows)) if first.total is not None else None
        for _request in range(max_requests - 1):
            if len(rows) < ENTRY_PAGE or left == 0:
                return
            after = max(int(str(row["ID"])) for row in rows)
            pages = MAX_COMMANDS if left is None else min(MAX_COMMANDS, -(-left // ENTRY_PAGE))
            calls = {f"p{n}": entries_created_since(since, after, n) for n in range(1, pages + 1)}
            answers = self._client.batch(calls)
            rows = []
            for key in calls:  # in page order; a short page is the last one
                answer = answers[key]
                if isinstance(answer, BitrixError):
                    raise answer
                rows = recent_rows(answer.result)
                yield from rows
                left = None if left is None else max(0, left - len(rows))
                if len(rows) < ENTRY_PAGE:
                    return

    def _run(
        self, groups: list[dict[str, Call]]
    ) -> Iterator[tuple[dict[str, Call], Mapping[str, Reply | BitrixError]]]:
        """Send each group as one batch; once a whole batch fails, that error answers every later call."""
        failure: BitrixError | None = None
        for calls in groups:
            if failure is None:
                try:
                    yield calls, self._client.batch(calls)
                    continue
                except BitrixError as error:
                    failure = error
            yield calls, dict.fromkeys(calls, failure)


def _state(task_id: int, answers: Mapping[str, Reply | BitrixError]) -> TaskState | BitrixError:
    task, entries = answers[f"t{task_id}"], answers[f"e{task_id}"]
    history = answers.get(f"h{task_id}")
    for answer in (task, entries, history):
        if isinstance(answer, BitrixError) and not isinstance(answer, NotFound):
            return answer
    fields = task.result.get("task") if isinstance(task, Reply) and isinstance(task.result, dict) else None
    if not isinstance(fields, dict) or isinstance(entries, NotFound):
        return TaskState(None, [], None)
    rows = entries.result if isinstance(entries, Reply) and isinstance(entries.result, list) else []
    return TaskState(fields, [r for r in rows if isinstance(r, dict)], history_rows(history))


def _partial(state: TaskState | BitrixError, listed: Reply | BitrixError) -> bool:
    """The task was read but its entry list says more rows exist than it sent."""
    if not isinstance(state, TaskState) or state.task is None or not isinstance(listed, Reply):
        return False
    return more_rows(listed, len(state.entries))


def recent_capacity(max_requests: int) -> int:
    """The most entries `recent_entries` reads in `max_requests` requests: one page, then full batches."""
    return ENTRY_PAGE + max(0, max_requests - 1) * MAX_COMMANDS * ENTRY_PAGE

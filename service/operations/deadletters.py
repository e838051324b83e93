"""`b24rules dead-letters`: the events the worker gave up on, one line per task, with why.

A dead letter is an event whose evaluation failed permanently (access denied, a bad webhook, an action
not allowed) or transiently for longer than the retry window (`core/backoff.py`). It waits in the
journal until `b24rules replay` queues it again; until then this is where an operator sees it, next
to `/readyz` (which counts them) and Sentry (which was told once, with the HTTP status).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from service.operations.listing import columns
from service.store.eventlog import DEAD, EventRecord
from service.store.journal import Journal

MAX_EVENTS = 10_000  # dead events read at most (a portal gone for days may leave many)


@dataclass(frozen=True)
class DeadLetter:
    """The dead events of one task: what an operator replays together."""

    task_id: int
    portal: str  # the events' member id (a task id names a task of one portal)
    event_ids: tuple[int, ...]
    names: tuple[str, ...]
    attempts: int  # the most tries any of its events had
    last_error: str  # the newest event's error: it names the method, code and HTTP status
    since: datetime | None  # when the newest of them was given up


def dead_letters(journal: Journal, task_id: int | None = None) -> list[DeadLetter]:
    """Dead letters grouped by portal and task, the most recently given up first."""
    by_task: dict[tuple[str, int], list[EventRecord]] = {}
    for event in journal.find(DEAD, task_id=task_id, limit=MAX_EVENTS):  # newest first
        by_task.setdefault((event.member_id, event.task_id), []).append(event)
    return [_letter(task, portal, events) for (portal, task), events in by_task.items()]


def _letter(task_id: int, portal: str, events: Sequence[EventRecord]) -> DeadLetter:
    newest = events[0]
    return DeadLetter(
        task_id=task_id,
        portal=portal,
        event_ids=tuple(sorted(e.id for e in events)),
        names=tuple(dict.fromkeys(e.name for e in reversed(events))),
        attempts=max(e.attempts for e in events),
        last_error=" ".join((newest.last_error or "no error recorded").split()),
        since=newest.finished_at,
    )


def table(letters: Sequence[DeadLetter], domains: Mapping[str, str] | None = None) -> str:
    """The listing `dead-letters` prints, with the commands that act on it; `domains` (member id →
    domain): a PORTAL column, for a listing of several portals."""
    if not letters:
        return "no dead letters"
    header = ("TASK", "EVENTS", "NAMES", "ATTEMPTS", "GIVEN UP (UTC)", "LAST ERROR")
    rows = [
        (
            str(letter.task_id),
            ",".join(str(i) for i in letter.event_ids),
            ",".join(letter.names),
            str(letter.attempts),
            letter.since.strftime("%Y-%m-%d %H:%M:%S") if letter.since else "",
            letter.last_error,
        )
        for letter in letters
    ]
    lines = columns(header, rows, [letter.portal for letter in letters], domains)
    events = sum(len(letter.event_ids) for letter in letters)
    portal = " --portal DOMAIN" if domains is not None else ""
    lines += [
        "",
        f"{events} dead event(s) on {len(letters)} task(s). Fix the cause, then "
        f"`b24rules replay --failed{portal}` (or `b24rules replay EVENT_ID…{portal}`).",
    ]
    return "\n".join(lines)

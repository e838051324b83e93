"""From a claim and the task's state as read from the portal to one merged plan (pure glue, no I/O).

A claim may fold several events (ONTASKADD then ONTASKUPDATE…): the task's latest state is evaluated once
per distinct event name that some rule listens to, and the deletions are merged by the engine's own
policy (`engine.dedupe`) so that each entry is deleted at most once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.core.engine import Deletion, EventInput, Plan, dedupe, evaluate
from service.core.facts import parse_int
from service.core.rules import RuleSet
from service.core.transitions import Transition, detect


@dataclass(frozen=True)
class ClaimView:
    """What evaluation needs to know about a claim (decoupled from the store's row type)."""

    task_id: int
    names: tuple[str, ...]
    ts: int | None
    domain: str
    member_id: str
    source: str


@dataclass(frozen=True)
class Evaluation:
    plans: tuple[Plan, ...]
    deletions: tuple[Deletion, ...]
    transition: Transition
    status: int | None


def listened_names(ruleset: RuleSet, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in dict.fromkeys(names) if ruleset.for_event(name))


def task_status(task: Mapping[str, Any]) -> int | None:
    return parse_int(task.get("status"))


def evaluate_claim(
    ruleset: RuleSet,
    view: ClaimView,
    *,
    task: Mapping[str, Any],
    entries: Sequence[Mapping[str, Any]],
    history: Sequence[Mapping[str, Any]] | None,
    stored_status: int | None,
    now: datetime,
    trace: bool = True,
) -> Evaluation:
    """The claim's plans; `trace=False` is the worker's fast path (see `engine.evaluate`)."""
    status = task_status(task)
    event_time = datetime.fromtimestamp(view.ts, UTC) if view.ts else None
    transition = detect(
        current_status=status,
        stored_status=stored_status,
        history=history,
        status_changed_date=task.get("statusChangedDate"),
        event_ts=event_time,
        now=now,
    )
    plans = tuple(
        evaluate(
            ruleset,
            event=EventInput(name, event_time, view.domain, view.member_id, view.source),
            task=task,
            entries=entries,
            transition=transition,
            now=now,
            trace=trace,
        )
        for name in listened_names(ruleset, view.names)
    )
    return Evaluation(plans, merge(plans), transition, status)


def merge(plans: tuple[Plan, ...]) -> tuple[Deletion, ...]:
    return dedupe([deletion for plan in plans for deletion in plan.deletions])

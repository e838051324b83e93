"""What happens to each planned deletion: the safety rules between the engine's plan and the portal.

The engine says which entries a rule selects; this module applies the service-wide brakes, in order:
a rule over its per-task `limit` is tripped; a rule tripped earlier (circuit breaker, persisted) runs in
shadow; shadow rules only record; the self-echo guard skips a rule that just acted on the task; dry-run
records; a rule that would exceed its hourly budget trips. Whatever is left is sent to the portal.

A rule that trips in a round deletes nothing in that round, on any task: the breaker's promise is that a
rule which went wrong stops at once, not after the other tasks of the same batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from service.core.engine import Deletion

# How long after a rule acted on a task a new portal event for it is taken for our own echo.
ECHO_WINDOW = timedelta(seconds=60)

SEND = "pending"  # audit outcome until the portal answers: deleted | gone | failed
SHADOW = "shadow"
DRY_RUN = "dry-run"
TRIPPED = "tripped"
SKIPPED = "skipped"
RESTORED = "restored by an operator (b24rules restore): never deleted again automatically"

OVER_LIMIT = "more entries selected for this task than the rule's limit"


@dataclass(frozen=True)
class Brakes:
    dry_run: bool = False
    tripped_rules: frozenset[str] = frozenset()
    budget_left: Mapping[str, int] = field(default_factory=dict)  # rule → deletions left this hour
    echo_blocked: frozenset[tuple[int, str]] = frozenset()  # (task id, rule) that acted moments ago
    # (task id, item id) of entries an operator brought back with `b24rules restore`: a person decided
    # they stay, so no rule deletes them again automatically.
    restored: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True)
class Action:
    deletion: Deletion
    outcome: str  # SEND, SHADOW, DRY_RUN, TRIPPED or SKIPPED
    note: str


@dataclass(frozen=True)
class Decision:
    actions: tuple[Action, ...]
    newly_tripped: Mapping[str, str]  # rule → why it tripped now

    def to_send(self) -> list[Action]:
        return [a for a in self.actions if a.outcome == SEND]


def decide(deletions: Sequence[Deletion], brakes: Brakes) -> Decision:
    tripping = {**_over_budget(deletions, brakes), **_over_limit(deletions, brakes)}
    actions = tuple(Action(d, *_outcome(d, brakes, tripping)) for d in deletions)
    return Decision(actions, tripping)


def _outcome(deletion: Deletion, brakes: Brakes, tripping: Mapping[str, str]) -> tuple[str, str]:
    if (deletion.task_id, deletion.item_id) in brakes.restored:
        return SKIPPED, RESTORED
    if deletion.over_limit:
        return TRIPPED, OVER_LIMIT
    if deletion.rule in brakes.tripped_rules:
        return SHADOW, "rule is tripped (circuit breaker); rearm it to enforce again"
    if deletion.mode == "shadow":
        return SHADOW, "rule is in shadow mode"
    if (deletion.task_id, deletion.rule) in brakes.echo_blocked:
        return SKIPPED, "rule acted on this task moments ago (self-echo guard)"
    if brakes.dry_run:
        return DRY_RUN, "B24_DRY_RUN is on"
    if deletion.rule in tripping:
        return TRIPPED, tripping[deletion.rule]
    return SEND, ""


def _over_limit(deletions: Sequence[Deletion], brakes: Brakes) -> dict[str, str]:
    """Rules over their limit on some task here: they trip, and so stop on every task of the round."""
    return {
        d.rule: f"{OVER_LIMIT} (task {d.task_id})"
        for d in deletions
        if d.over_limit and d.rule not in brakes.tripped_rules
    }


def _over_budget(deletions: Sequence[Deletion], brakes: Brakes) -> dict[str, str]:
    """Rules whose deletions here would exceed what is left of their hourly budget.

    Only what would really be sent counts: an echo-blocked deletion is not sent, and in dry-run nothing
    is, so neither may trip a rule."""
    if brakes.dry_run:
        return {}
    wanted: dict[str, int] = {}
    for d in deletions:
        sendable = d.enforced and d.rule not in brakes.tripped_rules
        restored = (d.task_id, d.item_id) in brakes.restored
        if sendable and not restored and (d.task_id, d.rule) not in brakes.echo_blocked:
            wanted[d.rule] = wanted.get(d.rule, 0) + 1
    return {
        rule: f"would exceed B24_MAX_DELETIONS_PER_HOUR ({count} more, {brakes.budget_left[rule]} left)"
        for rule, count in wanted.items()
        if rule in brakes.budget_left and count > brakes.budget_left[rule]
    }

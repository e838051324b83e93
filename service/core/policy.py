"""What happens to each planned deletion: the safety rules between the engine's plan and the portal.

The engine says which entries a rule selects; this module applies the service-wide brakes, in order:
a rule over its per-task `limit` is tripped; a rule tripped earlier (circuit breaker, persisted) runs in
shadow; shadow rules only record; the self-echo guard skips a rule that just acted on the task; dry-run
records; a rule that would exceed its hourly budget trips. Whatever is left is sent to the portal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from service.core.engine import Deletion

SEND = "pending"  # audit outcome until the portal answers: deleted | gone | failed
SHADOW = "shadow"
DRY_RUN = "dry-run"
TRIPPED = "tripped"
SKIPPED = "skipped"


@dataclass(frozen=True)
class Brakes:
    dry_run: bool = False
    tripped_rules: frozenset[str] = frozenset()
    budget_left: Mapping[str, int] = field(default_factory=dict)  # rule → deletions left this hour
    echo_blocked: frozenset[tuple[int, str]] = frozenset()  # (task id, rule) that acted moments ago


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
    over_budget = _over_budget(deletions, brakes)
    tripped: dict[str, str] = {}
    actions = []
    for deletion in deletions:
        outcome, note = _outcome(deletion, brakes, over_budget)
        if outcome == TRIPPED and deletion.rule not in brakes.tripped_rules:
            tripped.setdefault(deletion.rule, note)
        actions.append(Action(deletion, outcome, note))
    return Decision(tuple(actions), tripped)


def _outcome(deletion: Deletion, brakes: Brakes, over_budget: Mapping[str, str]) -> tuple[str, str]:
    if deletion.mode == "tripped":
        return TRIPPED, "more entries selected for this task than the rule's limit"
    if deletion.rule in brakes.tripped_rules:
        return SHADOW, "rule is tripped (circuit breaker); rearm it to enforce again"
    if deletion.mode == "shadow":
        return SHADOW, "rule is in shadow mode"
    if (deletion.task_id, deletion.rule) in brakes.echo_blocked:
        return SKIPPED, "rule acted on this task moments ago (self-echo guard)"
    if brakes.dry_run:
        return DRY_RUN, "B24_DRY_RUN is on"
    if deletion.rule in over_budget:
        return TRIPPED, over_budget[deletion.rule]
    return SEND, ""


def _over_budget(deletions: Sequence[Deletion], brakes: Brakes) -> dict[str, str]:
    """Rules whose enforced deletions here would exceed what is left of their hourly budget."""
    wanted: dict[str, int] = {}
    for deletion in deletions:
        if deletion.mode == "enforce" and deletion.rule not in brakes.tripped_rules:
            wanted[deletion.rule] = wanted.get(deletion.rule, 0) + 1
    return {
        rule: f"would exceed B24_MAX_DELETIONS_PER_HOUR ({count} more, {brakes.budget_left[rule]} left)"
        for rule, count in wanted.items()
        if rule in brakes.budget_left and count > brakes.budget_left[rule]
    }

"""The loaded rule set: rules as typed values, its version hash, and what the rules need from Bitrix24."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from service.core.compiled import Binder, compile_test
from service.core.conditions import Condition, referenced_fields
from service.core.facts import EVENT_NAMES, TASK_SOURCES, TRANSITION_FACTS
from service.core.notify import Notify

__all__ = ["ACTIONS", "EVENT_NAMES", "MODES", "InlineTest", "Rule", "RuleSet", "needs_history", "task_select"]
ACTIONS = ("delete",)  # v1; the registry of what a rule may do with the entries it selects
MODES = ("enforce", "shadow")


@dataclass(frozen=True)
class InlineTest:
    """One `tests:` item of a rule: typed facts in, ids expected to be selected out."""

    name: str
    event: str
    task: Mapping[str, object]  # task fact name (e.g. "task.status") → typed value
    entries: tuple[Mapping[str, object], ...]  # entry fact name → typed value
    now: datetime
    deletes: tuple[int, ...]
    line: int
    col: int = 1


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    on: frozenset[str]
    when: Condition | None
    where: Condition | None
    action: str
    mode: str
    enabled: bool
    limit: int | None
    tests: tuple[InlineTest, ...]
    file: str
    line: int
    col: int
    notify: Notify | None = None  # who hears of its deletions (core/notify.py)
    # `when` and `where` compiled once, here, for the engine's fast path (service/core/compiled.py).
    when_test: Binder | None = field(init=False, repr=False, compare=False)
    where_test: Binder | None = field(init=False, repr=False, compare=False)
    entry_fields: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, condition in (("when_test", self.when), ("where_test", self.where)):
            object.__setattr__(self, name, None if condition is None else compile_test(condition))
        # The entry facts the rule reads (and the two that say whose entry it is).
        entry = {name for name in self.fields() if name.startswith("entry.")} | {"entry.id", "entry.task_id"}
        object.__setattr__(self, "entry_fields", frozenset(entry))

    def fields(self) -> frozenset[str]:
        """Every fact the rule reads: its conditions', and what its notify message and recipients name."""
        found: set[str] = set() if self.notify is None else set(self.notify.fields())
        for condition in (self.when, self.where):
            if condition is not None:
                found |= referenced_fields(condition)
        return frozenset(found)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    version: str
    files: tuple[str, ...] = field(default=())

    def for_event(self, name: str) -> tuple[Rule, ...]:
        """Enabled rules listening to event `name` (case-insensitive), in file order."""
        event = name.upper()
        return tuple(rule for rule in self.rules if rule.enabled and event in rule.on)

    def rule(self, name: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.name == name), None)


def ruleset_version(files: Mapping[str, str]) -> str:
    """A short stable hash of the rule files: same texts under same paths → same version."""
    digest = hashlib.sha256()
    for path, text in sorted(files.items()):
        for part in (path, text):
            data = part.encode("utf-8")
            # Length-prefixed so that moving text between path and content changes the hash.
            digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()[:12]


def _used_fields(ruleset: RuleSet) -> frozenset[str]:
    return frozenset(name for rule in ruleset.rules if rule.enabled for name in rule.fields())


def needs_history(ruleset: RuleSet) -> bool:
    """Whether evaluating needs the task's previous status (a snapshot or tasks.task.history.list)."""
    return bool(_used_fields(ruleset) & TRANSITION_FACTS)


def task_select(ruleset: RuleSet) -> tuple[str, ...]:
    """The UPPER_CASE `select` for tasks.task.get that covers every task fact the rules read."""
    used = _used_fields(ruleset)
    wanted = {"ID", "STATUS"}
    wanted.update(upper for name, (_, upper) in TASK_SOURCES.items() if name in used)
    if used & TRANSITION_FACTS:
        wanted.add("STATUS_CHANGED_DATE")  # reopened_at when a snapshot, not the history, shows the reopen
    order = [upper for _, upper in TASK_SOURCES.values()]
    return tuple(sorted(wanted, key=order.index))

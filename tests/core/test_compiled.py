"""The compiled, untraced evaluation (the worker's) against the traced one (simulate's), on random rules.

Rules are generated as YAML and loaded like rule files; tasks and entries as the portal sends them,
with missing, empty and malformed values. Both paths must give the same outcome per rule and the same
deletions, traces and reasons included.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.core.engine import EventInput, Plan, evaluate
from service.core.loader import load_ruleset
from service.core.rules import RuleSet
from service.core.transitions import Transition

NOW = datetime(2025, 9, 27, 12, tzinfo=UTC)
TASK_ID = 77
DATES = ("2025-09-01T00:00:00+00:00", "2025-09-20T08:30:00+02:00", "2025-09-27T11:00:00+00:00", "2025-09-26")
DURATIONS = ("1h", "2d", "30m", "1w")
WORDS = ("timer", "slip", "call", "")

# Field → (kind, literal values, `$references` of the same type; entry ones only valid in `where`).
FIELDS: dict[str, tuple[str, tuple[Any, ...], tuple[str, ...]]] = {
    "entry.seconds": ("int", (0, 1, 60), ("$entry.minutes", "$task.time_spent")),
    "entry.minutes": ("int", (0, 1), ("$entry.seconds",)),
    "entry.user_id": ("int", (1, 2, 7), ("$task.responsible_id", "$task.created_by")),
    "entry.comment": ("str", WORDS[:3], ("$task.title",)),
    "entry.created_date": ("date", DATES, ("$task.deadline", "$task.reopened_at", "$entry.date_start")),
    "entry.date_start": ("date", DATES, ("$entry.created_date",)),
    "task.responsible_id": ("int", (1, 7), ("$task.created_by",)),
    "task.title": ("str", WORDS[:3], ()),
    "task.status": ("status", ("pending", "in_progress", "completed", 5), ("$task.previous_status",)),
    "task.previous_status": ("status", ("completed", 2), ("$task.status",)),
    "task.reopened": ("bool", (True, False), ()),
    "task.tags": ("tags", ("billing", "x"), ()),
    "task.deadline": ("date", DATES, ("$task.reopened_at",)),
    "event.name": ("str", ("ONTASKUPDATE", "ontaskadd"), ()),
}
OPS = {
    "int": ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "between", "exists"),
    "str": ("eq", "ne", "contains", "matches", "in", "not_in", "exists"),
    "date": ("eq", "ne", "before", "after", "between", "older_than", "newer_than", "exists"),
    "status": ("eq", "ne", "in", "not_in", "exists"),
    "bool": ("eq", "ne", "exists"),
    "tags": ("contains", "exists"),
}


def value_for(field: str, op: str, where: bool) -> st.SearchStrategy[Any]:
    _, literals, refs = FIELDS[field]
    usable = tuple(ref for ref in refs if where or not ref.startswith("$entry."))
    one = st.sampled_from(literals + usable)
    if op == "exists":
        return st.booleans()
    if op == "matches":
        return st.sampled_from(("^ti", "s.ip", "^$", "call$"))
    if op in ("older_than", "newer_than"):
        return st.sampled_from(DURATIONS)
    if op == "contains":
        return st.sampled_from(("billing", "x", "ti", "l"))
    if op in ("in", "not_in"):
        return st.lists(one, min_size=1, max_size=3)
    if op == "between":
        ordered = st.lists(st.sampled_from(literals), min_size=2, max_size=2).map(sorted)
        return st.one_of(ordered, st.lists(one, min_size=2, max_size=2).filter(_not_two_literals))
    return one


def _not_two_literals(pair: list[Any]) -> bool:
    return any(isinstance(item, str) and item.startswith("$") for item in pair)


@st.composite
def leaf(draw: st.DrawFn, where: bool) -> dict[str, Any]:
    names = [name for name in FIELDS if where or not name.startswith("entry.")]
    field = draw(st.sampled_from(names))
    op = draw(st.sampled_from(OPS[FIELDS[field][0]]))
    return {field: {op: draw(value_for(field, op, where))}}


def condition(where: bool) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        leaf(where),
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda items: {"all": items}),
            st.lists(inner, min_size=1, max_size=3).map(lambda items: {"any": items}),
            inner.map(lambda item: {"not": item}),
        ),
        max_leaves=5,
    )


@st.composite
def rules(draw: st.DrawFn) -> RuleSet:
    texts = []
    for number in range(draw(st.integers(1, 3))):
        rule: dict[str, Any] = {"name": f"r{number}", "on": ["ONTASKUPDATE"], "action": "delete"}
        rule["where"] = draw(condition(where=True))
        if draw(st.booleans()):
            rule["when"] = draw(condition(where=False))
        rule["mode"] = draw(st.sampled_from(("enforce", "shadow")))
        if draw(st.booleans()):
            rule["limit"] = draw(st.integers(1, 3))
        texts.append(rule)
    loaded = load_ruleset({"r.yaml": yaml.safe_dump(texts)})
    assert loaded.ruleset is not None, [str(problem) for problem in loaded.problems]
    return loaded.ruleset


RAW_INT = st.sampled_from(("0", "1", "2", "7", "60", "", "x", None, " 1 ", "-1"))
RAW_DATE = st.sampled_from(
    (*DATES[:3], "2025-09-27T11:59:00+00:00", "", "not a date", "2025-09-01T00:00", None)
)
RAW_TEXT = st.sampled_from(("timer", "timer slip", "call", "", None))


@st.composite
def entry(draw: st.DrawFn, item_id: int) -> dict[str, Any]:
    owner = draw(st.sampled_from((str(TASK_ID), str(TASK_ID), "78", "")))
    raw = {"ID": str(item_id), "TASK_ID": owner, "SECONDS": draw(RAW_INT), "MINUTES": draw(RAW_INT),
           "USER_ID": draw(RAW_INT), "COMMENT_TEXT": draw(RAW_TEXT), "CREATED_DATE": draw(RAW_DATE),
           "DATE_START": draw(RAW_DATE)}  # fmt: skip
    return {key: value for key, value in raw.items() if value is not None}


@st.composite
def task(draw: st.DrawFn) -> dict[str, Any]:
    tags: object = draw(st.sampled_from(({"1": {"id": "1", "title": "billing"}}, [], None)))
    raw = {"id": str(TASK_ID), "status": draw(st.sampled_from(("2", "3", "5", "", None))),
           "title": draw(RAW_TEXT), "responsibleId": draw(RAW_INT), "createdBy": draw(RAW_INT),
           "timeSpentInLogs": draw(RAW_INT), "deadline": draw(RAW_DATE), "tags": tags}  # fmt: skip
    return {key: value for key, value in raw.items() if value is not None}


TRANSITIONS = st.sampled_from(
    (
        Transition(None, False, None),
        Transition(5, True, datetime(2025, 9, 20, 6, 30, tzinfo=UTC)),
        Transition(2, False, None),
    )
)


def both(ruleset: RuleSet, **inputs: Any) -> tuple[Plan, Plan]:
    event = EventInput("ONTASKUPDATE", NOW, "acme.bitrix24.com", "m1", "event")
    traced = evaluate(ruleset, event=event, now=NOW, trace=True, **inputs)
    untraced = evaluate(ruleset, event=event, now=NOW, trace=False, **inputs)
    return traced, untraced


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ruleset=rules(),
    task=task(),
    entries=st.integers(0, 8).flatmap(lambda n: st.tuples(*(entry(i + 1) for i in range(n)))),
    transition=TRANSITIONS,
)
def test_untraced_selects_what_traced_selects(
    ruleset: RuleSet, task: dict[str, Any], entries: tuple[dict[str, Any], ...], transition: Transition
) -> None:
    traced, untraced = both(ruleset, task=task, entries=list(entries), transition=transition)
    assert [_summary(outcome) for outcome in untraced.outcomes] == [
        _summary(outcome) for outcome in traced.outcomes
    ]
    assert untraced.deletions == traced.deletions  # same entries, modes, traces and reasons


def _summary(outcome: Any) -> tuple[object, ...]:
    selected = [verdict.entry_id for verdict in outcome.verdicts if verdict.selected]
    return outcome.rule, outcome.applies, outcome.over_limit, outcome.mode, selected


def test_untraced_outcomes_list_only_the_selected_entries_and_no_when_trace() -> None:
    text = (
        "- {name: z, on: [ONTASKUPDATE], action: delete, when: {task.status: 3}, where: {entry.seconds: 0}}"
    )
    ruleset = load_ruleset({"r.yaml": text}).ruleset
    assert ruleset is not None
    entries = [{"ID": str(i), "TASK_ID": str(TASK_ID), "SECONDS": str(i % 2)} for i in range(1, 5)]
    inputs = {
        "task": {"id": str(TASK_ID), "status": "3"},
        "entries": entries,
        "transition": Transition(None, False, None),
    }
    traced, untraced = both(ruleset, **inputs)
    (fast,) = untraced.outcomes
    assert [v.entry_id for v in fast.verdicts] == [2, 4]
    assert fast.when_trace == ()
    assert len(traced.outcomes[0].verdicts) == 4
    assert [d.reason for d in untraced.deletions] == ["entry.seconds eq 0 (actual 0)"] * 2

# ruff: noqa: E501 - rule files are written inline as YAML text, one YAML line per source line
"""The engine's plan: traces, rule filtering, ownership checks, dedupe across rules, limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.core.conditions import ConditionTrace
from service.core.engine import Deletion, EventInput, Plan, dedupe, evaluate, reason
from service.core.loader import load_ruleset
from service.core.rules import RuleSet
from service.core.transitions import NO_TRANSITION, Transition

NOW = datetime(2025, 9, 27, 12, tzinfo=UTC)
EVENT = EventInput("ONTASKUPDATE", NOW, "acme.bitrix24.com", "m1", "event")
TASK = {"id": "691", "status": "2", "title": "Fix login"}


def ruleset(text: str) -> RuleSet:
    result = load_ruleset({"r.yaml": text})
    assert result.ruleset is not None, [str(p) for p in result.problems]
    return result.ruleset


def entry(item_id: int, seconds: int = 0, task_id: str = "691", **extra: str) -> dict[str, object]:
    return {"ID": str(item_id), "TASK_ID": task_id, "SECONDS": str(seconds), "USER_ID": "7", **extra}


def plan_for(
    rules: RuleSet,
    entries: list[dict[str, object]],
    event: EventInput = EVENT,
    transition: Transition = NO_TRANSITION,
) -> Plan:
    return evaluate(rules, event=event, task=TASK, entries=entries, transition=transition, now=NOW)


ZERO = "- name: zero\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.seconds: 0}\n"


def test_selects_matching_entries_and_keeps_the_raw_entry() -> None:
    rules = ruleset(ZERO)
    entries = [entry(1, 0), entry(2, 60)]
    plan = plan_for(rules, entries)
    assert (plan.task_id, plan.event, plan.ruleset_version) == (691, "ONTASKUPDATE", rules.version)
    assert plan.deletions == (
        Deletion(
            task_id=691,
            item_id=1,
            rule="zero",
            mode="enforce",
            over_limit=False,
            entry=entries[0],
            trace=(ConditionTrace("where.entry.seconds", "eq", 0, 0, True),),
            reason="entry.seconds eq 0 (actual 0)",
        ),
    )
    assert plan.to_delete() == plan.deletions
    (outcome,) = plan.outcomes
    assert (outcome.rule, outcome.applies, outcome.over_limit, outcome.mode) == (
        "zero",
        True,
        False,
        "enforce",
    )
    assert [(v.entry_id, v.selected) for v in outcome.verdicts] == [(1, True), (2, False)]


def test_trace_shows_every_condition_of_an_entry_that_did_not_match() -> None:
    rules = ruleset(
        "- name: r\n  on: ONTASKUPDATE\n  action: delete\n  when: {task.status: completed, task.title: {contains: Fix}}\n"
        "  where: {entry.seconds: 0, entry.user_id: 7}\n"
    )
    plan = plan_for(rules, [entry(1, 5)])
    (outcome,) = plan.outcomes
    assert not outcome.applies
    assert outcome.when_trace == (
        ConditionTrace("when.task.status", "eq", 5, 2, False),
        ConditionTrace("when.task.title", "contains", "Fix", "Fix login", True),
    )
    assert outcome.verdicts == ()
    rules = ruleset(
        "- name: r\n  on: ONTASKUPDATE\n  action: delete\n  where: {entry.seconds: 0, entry.user_id: 7}\n"
    )
    (verdict,) = plan_for(rules, [entry(1, 5)]).outcomes[0].verdicts
    assert verdict.trace == (
        ConditionTrace("where.entry.seconds", "eq", 0, 5, False),
        ConditionTrace("where.entry.user_id", "eq", 7, 7, True),
    )


def test_entries_of_another_task_or_without_id_are_never_selected() -> None:
    plan = plan_for(
        ruleset(ZERO),
        [
            entry(1, 0, task_id="692"),
            entry(2, 0, task_id=""),
            {"ID": "x", "TASK_ID": "691", "SECONDS": "0"},
            entry(3),
        ],
    )
    assert [d.item_id for d in plan.deletions] == [3]
    assert [v.entry_id for v in plan.outcomes[0].verdicts] == [3]


def test_task_without_id_selects_nothing() -> None:
    plan = evaluate(
        ruleset(ZERO), event=EVENT, task={}, entries=[entry(1, 0)], transition=NO_TRANSITION, now=NOW
    )
    assert (plan.task_id, plan.deletions) == (0, ())


def test_only_enabled_rules_listening_to_the_event_run() -> None:
    rules = ruleset(
        ZERO
        + "- name: off\n  on: ONTASKUPDATE\n  enabled: false\n  action: delete\n  where: {entry.seconds: 0}\n"
        + "- name: add-only\n  on: ONTASKADD\n  action: delete\n  where: {entry.seconds: 0}\n"
    )
    assert [o.rule for o in plan_for(rules, [entry(1)]).outcomes] == ["zero"]
    add = EventInput("ontaskadd", NOW, "", "", "event")
    assert [o.rule for o in plan_for(rules, [entry(1)], event=add).outcomes] == ["add-only"]
    delete = EventInput("ONTASKDELETE", NOW, "", "", "event")
    assert plan_for(rules, [entry(1)], event=delete).outcomes == ()


def test_an_entry_selected_by_several_rules_is_deleted_once_enforce_winning() -> None:
    rules = ruleset(
        "- name: shadow-first\n  on: ONTASKUPDATE\n  mode: shadow\n  action: delete\n  where: {entry.seconds: 0}\n"
        + ZERO
        + "- name: zero-again\n  on: ONTASKUPDATE\n  action: delete\n  where: {entry.user_id: 7}\n"
    )
    plan = plan_for(rules, [entry(1, 0), entry(2, 9)])
    assert [(d.item_id, d.rule, d.mode) for d in plan.deletions] == [
        (1, "zero", "enforce"),
        (2, "zero-again", "enforce"),
    ]


def test_shadow_rule_alone_plans_shadow_deletions_only() -> None:
    rules = ruleset(
        "- name: s\n  on: ONTASKUPDATE\n  mode: shadow\n  action: delete\n  where: {entry.seconds: 0}\n"
    )
    plan = plan_for(rules, [entry(1)])
    assert [d.mode for d in plan.deletions] == ["shadow"]
    assert plan.to_delete() == ()


def test_over_the_limit_the_rule_is_tripped_and_deletes_nothing() -> None:
    rules = ruleset(ZERO + "  limit: 2\n")
    at_limit = plan_for(rules, [entry(1), entry(2)])
    assert [d.mode for d in at_limit.deletions] == ["enforce", "enforce"]
    over = plan_for(rules, [entry(1), entry(2), entry(3)])
    assert over.outcomes[0].over_limit
    assert over.outcomes[0].mode == "enforce"  # the rule's mode stays what the file says
    assert [(d.mode, d.over_limit) for d in over.deletions] == [("enforce", True)] * 3
    assert over.to_delete() == ()


def test_a_shadow_rule_over_its_limit_keeps_its_mode_and_is_held_back() -> None:
    rules = ruleset(
        "- name: s\n  on: ONTASKUPDATE\n  mode: shadow\n  limit: 1\n  action: delete\n  where: {entry.seconds: 0}\n"
    )
    over = plan_for(rules, [entry(1), entry(2)])
    assert (over.outcomes[0].mode, over.outcomes[0].over_limit) == ("shadow", True)
    assert [(d.mode, d.over_limit) for d in over.deletions] == [("shadow", True)] * 2


def test_dedupe_prefers_a_rule_within_its_limit_then_enforce_then_the_earlier() -> None:
    def candidate(rule: str, mode: str, over_limit: bool) -> Deletion:
        return Deletion(691, 1, rule, mode, over_limit, {}, (), "")

    over = candidate("over", "enforce", True)
    shadow = candidate("shadow", "shadow", False)
    enforce = candidate("enforce", "enforce", False)
    assert dedupe([over, shadow]) == (shadow,)
    assert dedupe([shadow, enforce]) == (enforce,)
    assert dedupe([over, shadow, enforce]) == (enforce,)
    assert dedupe([enforce, candidate("later", "enforce", False)]) == (enforce,)


def test_tripped_rule_does_not_stop_another_rule_from_deleting() -> None:
    rules = ruleset(
        ZERO
        + "  limit: 1\n"
        + "- name: by-user\n  on: ONTASKUPDATE\n  action: delete\n  where: {entry.user_id: 7}\n"
    )
    plan = plan_for(rules, [entry(1), entry(2)])
    assert [(d.item_id, d.rule, d.mode) for d in plan.deletions] == [
        (1, "by-user", "enforce"),
        (2, "by-user", "enforce"),
    ]


def test_reopen_rule_uses_the_transition() -> None:
    rules = ruleset(
        "- name: reopen\n  on: ONTASKUPDATE\n  when: {task.reopened: true}\n  action: delete\n"
        "  where: {entry.created_date: {before: $task.reopened_at}}\n"
    )
    reopened_at = datetime(2025, 9, 27, 9, 12, tzinfo=UTC)
    entries = [
        entry(1, 60, CREATED_DATE="2025-09-26T10:00:00+03:00"),
        entry(2, 60, CREATED_DATE="2025-09-27T13:00:00+03:00"),
    ]
    plan = plan_for(rules, entries, transition=Transition(5, True, reopened_at))
    assert [d.item_id for d in plan.deletions] == [1]
    assert plan.deletions[0].reason == (
        "entry.created_date before 2025-09-27T09:12:00+00:00 (actual 2025-09-26T10:00:00+03:00)"
    )
    assert plan_for(rules, entries).deletions == ()


def test_malformed_portal_values_do_not_crash_evaluation() -> None:
    rules = ruleset(
        "- name: r\n  on: ONTASKUPDATE\n  action: delete\n"
        "  where: {any: [{entry.created_date: {older_than: 1d}}, {entry.seconds: {lt: 5}}, {entry.comment: {matches: x}}]}\n"
    )
    bad = {"ID": "1", "TASK_ID": "691", "SECONDS": "abc", "CREATED_DATE": "soon", "COMMENT_TEXT": ["x"]}
    plan = evaluate(
        rules,
        event=EVENT,
        task={"id": "691", "status": "??"},
        entries=[bad],
        transition=NO_TRANSITION,
        now=NOW,
    )
    assert plan.deletions == ()
    assert [t.actual for t in plan.outcomes[0].verdicts[0].trace] == [None, None, None]


def test_reason_lists_the_conditions_that_selected_the_entry() -> None:
    trace = (
        ConditionTrace("where.any[0].entry.seconds", "eq", 0, 5, False),
        ConditionTrace("where.any[1].entry.user_id", "in", (7, 8), 7, True),
        ConditionTrace("where.not.entry.comment", "exists", True, None, False),
    )
    assert reason(trace) == "entry.user_id in [7, 8] (actual 7); not entry.comment exists True (actual None)"


def test_event_facts_are_available_to_rules() -> None:
    rules = ruleset(
        "- name: r\n  on: ONTASKUPDATE\n  when: {event.name: ontaskupdate, event.source: {ne: replay}}\n"
        "  action: delete\n  where: {entry.seconds: 0}\n"
    )
    assert [d.item_id for d in plan_for(rules, [entry(1)]).deletions] == [1]
    replay = EventInput("ONTASKUPDATE", NOW, "", "", "replay")
    assert plan_for(rules, [entry(1)], event=replay).deletions == ()


def test_naive_times_from_callers_cannot_crash_comparisons() -> None:
    rules = ruleset(
        "- name: r\n  on: ONTASKUPDATE\n  action: delete\n"
        "  where: {entry.created_date: {before: $task.reopened_at}, event.ts: {exists: true}}\n"
    )
    naive = datetime(2025, 9, 27, 9)
    event = EventInput("ONTASKUPDATE", naive, "", "", "event")
    entries = [entry(1, CREATED_DATE="2025-09-26T10:00:00+03:00")]
    plan = plan_for(rules, entries, event=event, transition=Transition(5, True, naive))
    assert plan.deletions == ()
    assert [t.actual for t in plan.outcomes[0].verdicts[0].trace] == [
        datetime(2025, 9, 26, 7, tzinfo=UTC),
        None,
    ]
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(rules, event=EVENT, task=TASK, entries=[], transition=NO_TRANSITION, now=naive)

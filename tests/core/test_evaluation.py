"""One claim → one merged plan: several event names, each rule at most once per entry."""

from __future__ import annotations

from datetime import UTC, datetime

from service.core.evaluation import ClaimView, evaluate_claim, listened_names, task_status
from service.core.loader import load_ruleset
from service.core.rules import RuleSet

NOW = datetime(2025, 9, 27, 12, tzinfo=UTC)
RULES = """
- name: zero-on-add
  on: [ONTASKADD]
  action: delete
  where: {entry.seconds: 0}
- name: zero-on-update
  on: [ONTASKUPDATE]
  action: delete
  mode: shadow
  where: {entry.seconds: 0}
- name: short-on-update
  on: [ONTASKUPDATE]
  action: delete
  where: {entry.seconds: {lt: 30}}
"""
TASK = {"id": "691", "status": "3", "title": "t"}
ENTRIES = [
    {"ID": "1", "TASK_ID": "691", "SECONDS": "0", "USER_ID": "1"},
    {"ID": "2", "TASK_ID": "691", "SECONDS": "20", "USER_ID": "1"},
    {"ID": "3", "TASK_ID": "691", "SECONDS": "3600", "USER_ID": "1"},
]


def ruleset() -> RuleSet:
    result = load_ruleset({"r.yaml": RULES})
    assert result.ruleset is not None, result.problems
    return result.ruleset


def view(*names: str) -> ClaimView:
    return ClaimView(691, names, 1766047124, "acme.bitrix24.com", "m", "event")


def test_each_event_name_is_evaluated_and_each_entry_deleted_once() -> None:
    evaluation = evaluate_claim(
        ruleset(), view("ONTASKADD", "ONTASKUPDATE"), task=TASK, entries=ENTRIES, history=None,
        stored_status=3, now=NOW,
    )  # fmt: skip
    assert [plan.event for plan in evaluation.plans] == ["ONTASKADD", "ONTASKUPDATE"]
    by_item = {d.item_id: d for d in evaluation.deletions}
    assert sorted(by_item) == [1, 2]
    # Entry 1: enforced by zero-on-add, shadowed by zero-on-update; the enforcing decision wins.
    assert by_item[1].mode == "enforce"
    assert by_item[2].rule == "short-on-update"


def test_names_no_rule_listens_to_are_skipped() -> None:
    assert listened_names(ruleset(), ("ONTASKDELETE", "ONTASKUPDATE", "ONTASKUPDATE")) == ("ONTASKUPDATE",)
    evaluation = evaluate_claim(
        ruleset(), view("ONTASKDELETE"), task=TASK, entries=ENTRIES, history=None, stored_status=None, now=NOW
    )
    assert evaluation.plans == ()
    assert evaluation.deletions == ()


def test_status_is_read_from_the_portals_string() -> None:
    assert task_status({"status": "5"}) == 5
    assert task_status({"status": ""}) is None
    assert task_status({}) is None


def test_stored_snapshot_drives_the_reopen_transition() -> None:
    evaluation = evaluate_claim(
        ruleset(), view("ONTASKUPDATE"), task={**TASK, "status": "2"}, entries=[], history=None,
        stored_status=5, now=NOW,
    )  # fmt: skip
    assert evaluation.transition.reopened
    assert evaluation.transition.previous_status == 5
    assert evaluation.status == 2


def test_across_event_names_a_shadow_deletion_wins_over_one_held_back_by_a_limit() -> None:
    # The same dedupe as within one plan: ONTASKADD's rule is over its limit, ONTASKUPDATE's is in shadow.
    rules = load_ruleset(
        {
            "r.yaml": """
- name: capped-on-add
  on: [ONTASKADD]
  action: delete
  limit: 1
  where: {entry.seconds: {lt: 30}}
- name: shadow-on-update
  on: [ONTASKUPDATE]
  action: delete
  mode: shadow
  where: {entry.seconds: 0}
"""
        }
    ).ruleset
    assert rules is not None
    evaluation = evaluate_claim(
        rules, view("ONTASKADD", "ONTASKUPDATE"), task=TASK, entries=ENTRIES, history=None,
        stored_status=3, now=NOW,
    )  # fmt: skip
    chosen = {d.item_id: (d.rule, d.mode, d.over_limit) for d in evaluation.deletions}
    assert chosen == {1: ("shadow-on-update", "shadow", False), 2: ("capped-on-add", "enforce", True)}

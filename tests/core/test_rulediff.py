"""The fate comparison behind `b24rules diff`: reasons on both sides, and the worker's brakes applied."""

from __future__ import annotations

from datetime import UTC, datetime

from service.core import policy
from service.core.evaluation import ClaimView, Evaluation, evaluate_claim
from service.core.loader import load_ruleset
from service.core.rulediff import NEWLY_DELETED, NO_LONGER_DELETED, TaskComparison, compare
from service.core.rules import RuleSet

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RULE = "- name: short\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.seconds: {lt: LIMIT}}\nMODE"
TASK = {"id": "7", "status": "3"}
ENTRIES = [{"ID": str(i), "TASK_ID": "7", "SECONDS": str(s)} for i, s in ((1, 10), (2, 45), (3, 90))]


def ruleset(limit: int, mode: str = "") -> RuleSet:
    text = RULE.replace("LIMIT", str(limit)).replace("MODE", f"  mode: {mode}\n" if mode else "")
    loaded = load_ruleset({"r.yaml": text}).ruleset
    assert loaded is not None
    return loaded


def comparison(old: RuleSet, new: RuleSet) -> TaskComparison:
    view = ClaimView(7, ("ONTASKUPDATE",), None, "", "", "event")

    def run(rules: RuleSet) -> Evaluation:
        return evaluate_claim(rules, view, task=TASK, entries=ENTRIES, history=None, stored_status=3, now=NOW)

    return TaskComparison(7, run(old), run(new))


def test_a_wider_threshold_newly_deletes_with_both_reasons() -> None:
    diff = compare([comparison(ruleset(30), ruleset(60))], policy.Brakes())
    [rule] = diff.rules
    assert (rule.rule, rule.unchanged, rule.no_longer_deleted) == ("short", 1, [])
    [change] = rule.newly_deleted
    assert (change.item_id, change.kind) == (2, NEWLY_DELETED)
    assert change.now == "entry.seconds lt 60 (actual 45)"
    assert change.before == "rule short does not select it: entry.seconds lt 30 is false (actual 45)"


def test_a_narrower_threshold_spares_and_says_why() -> None:
    diff = compare([comparison(ruleset(60), ruleset(30))], policy.Brakes())
    assert diff.newly_deleted == 0
    [change] = diff.rules[0].no_longer_deleted
    assert (change.item_id, change.kind) == (2, NO_LONGER_DELETED)
    assert change.now == "rule short does not select it: entry.seconds lt 30 is false (actual 45)"


def test_the_brakes_apply_shadow_mode_and_restored_entries() -> None:
    shadow = compare([comparison(ruleset(60), ruleset(60, "shadow"))], policy.Brakes())
    assert [c.item_id for c in shadow.rules[0].no_longer_deleted] == [1, 2]
    assert "rule is in shadow mode" in shadow.rules[0].no_longer_deleted[0].now
    # An entry an operator restored is never deleted again: widening the rule does not newly delete it.
    restored = compare([comparison(ruleset(30), ruleset(60))], policy.Brakes(restored=frozenset({(7, 2)})))
    assert restored.newly_deleted == 0

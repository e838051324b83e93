"""The differ in process: `--from-audit` judges a proposed `when` on the task as it was when the rules
decided (kept beside the audit), with no portal request."""

from __future__ import annotations

from service.assembly.wiring import make_differ
from service.core.loader import load_ruleset
from service.core.rules import RuleSet
from tests.inprocess import rig

RULE = """
- name: drop-short-billing
  on: [ONTASKUPDATE]
  action: delete
  when: {task.title: {contains: WORD}}
  where: {entry.seconds: {lt: 60}}
"""


def rules(word: str) -> RuleSet:
    loaded = load_ruleset({"r.yaml": RULE.replace("WORD", word)}).ruleset
    assert loaded is not None
    return loaded


def test_from_audit_evaluates_the_task_the_running_rules_saw_without_a_request() -> None:
    with rig(RULE.replace("WORD", "billing"), b24_dry_run=True) as world:
        world.sandbox.portal.create_task("billing: March", task_id=691, status=3, entries=[{"seconds": 5}])
        world.event(691)
        world.drain()
        [record] = world.audit(691)
        assert record.outcome == "dry-run"
        before = world.sandbox.portal.stats.http_total
        differ = make_differ(world.resources, live=False)
        report = differ.from_audit(rules("billing"), rules("invoice"), since=None)
        assert world.sandbox.portal.stats.http_total == before
        [change] = report.diff.changes()
        assert (change.task_id, change.item_id, change.kind) == (691, record.item_id, "no longer deleted")
        assert change.now == (
            "rule drop-short-billing does not apply: "
            "task.title contains invoice is false (actual billing: March)"
        )
        assert differ.from_audit(rules("billing"), rules("March"), since=None).diff.changes() == []

"""The brakes between a plan and the portal: which planned deletion is sent, recorded only, or tripped."""

from __future__ import annotations

from service.core.engine import Deletion
from service.core.policy import DRY_RUN, RESTORED, SEND, SHADOW, SKIPPED, TRIPPED, Brakes, decide

RULE = "drop-zero"
OTHER = "drop-short"


def deletion(
    item_id: int, *, task_id: int = 691, rule: str = RULE, mode: str = "enforce", over_limit: bool = False
) -> Deletion:
    entry = {"ID": str(item_id), "TASK_ID": str(task_id), "SECONDS": "0"}
    return Deletion(task_id, item_id, rule, mode, over_limit, entry, (), "entry.seconds eq 0 (actual 0)")


def outcomes(deletions: list[Deletion], brakes: Brakes) -> dict[int, str]:
    return {a.deletion.item_id: a.outcome for a in decide(deletions, brakes).actions}


def test_no_brake_sends_everything_in_plan_order() -> None:
    decision = decide([deletion(3), deletion(1), deletion(2, rule=OTHER)], Brakes())

    assert [(a.deletion.item_id, a.outcome) for a in decision.actions] == [(3, SEND), (1, SEND), (2, SEND)]
    assert [a.deletion.item_id for a in decision.to_send()] == [3, 1, 2]
    assert decision.newly_tripped == {}


def test_over_its_limit_the_rule_trips_and_nothing_is_sent() -> None:
    decision = decide([deletion(1, over_limit=True), deletion(2, over_limit=True)], Brakes())

    assert {a.outcome for a in decision.actions} == {TRIPPED}
    assert decision.to_send() == []
    assert "limit" in decision.newly_tripped[RULE]
    assert "task 691" in decision.newly_tripped[RULE]


def test_a_rule_tripping_on_one_task_deletes_nothing_on_the_others_of_the_round() -> None:
    plan = [
        deletion(1, task_id=5, over_limit=True),
        deletion(2, task_id=6),
        deletion(3, task_id=6, rule=OTHER),
    ]

    result = outcomes(plan, Brakes())

    assert result == {1: TRIPPED, 2: TRIPPED, 3: SEND}


def test_over_limit_again_while_tripped_is_recorded_but_not_tripped_anew() -> None:
    decision = decide([deletion(1, over_limit=True)], Brakes(tripped_rules=frozenset({RULE})))

    assert decision.actions[0].outcome == TRIPPED
    assert decision.newly_tripped == {}  # Sentry was told when it tripped; not on every event after


def test_a_tripped_rule_runs_in_shadow_until_rearmed() -> None:
    decision = decide([deletion(1), deletion(2, rule=OTHER)], Brakes(tripped_rules=frozenset({RULE})))

    assert [a.outcome for a in decision.actions] == [SHADOW, SEND]
    assert "rearm" in decision.actions[0].note


def test_shadow_rules_only_record() -> None:
    decision = decide([deletion(1, mode="shadow")], Brakes())

    assert decision.actions[0].outcome == SHADOW
    assert decision.actions[0].note == "rule is in shadow mode"
    assert decision.newly_tripped == {}


def test_self_echo_guard_skips_only_that_rule_on_that_task() -> None:
    brakes = Brakes(echo_blocked=frozenset({(691, RULE)}))
    plan = [deletion(1), deletion(2, rule=OTHER), deletion(3, task_id=692)]

    result = outcomes(plan, brakes)

    assert result == {1: SKIPPED, 2: SEND, 3: SEND}
    assert "self-echo" in decide(plan, brakes).actions[0].note


def test_dry_run_records_what_would_be_sent() -> None:
    decision = decide([deletion(1), deletion(2, mode="shadow")], Brakes(dry_run=True))

    assert [a.outcome for a in decision.actions] == [DRY_RUN, SHADOW]
    assert "B24_DRY_RUN" in decision.actions[0].note
    assert decision.to_send() == []


def test_brakes_apply_in_order() -> None:
    # Every brake at once: the first that applies names the outcome.
    everything = Brakes(
        dry_run=True,
        tripped_rules=frozenset({"tripped-rule"}),
        echo_blocked=frozenset({(691, RULE), (691, "tripped-rule"), (691, "shadow-rule")}),
        budget_left={RULE: 0},
    )
    plan = [
        deletion(1, rule="limit-rule", over_limit=True),  # over its limit beats everything
        deletion(2, rule="tripped-rule"),  # breaker beats echo and dry-run
        deletion(3, rule="shadow-rule", mode="shadow"),  # shadow beats echo
        deletion(4),  # echo beats dry-run and budget
        deletion(5, rule="dry-rule"),  # dry-run
    ]

    assert outcomes(plan, everything) == {1: TRIPPED, 2: SHADOW, 3: SHADOW, 4: SKIPPED, 5: DRY_RUN}


def test_budget_allows_exactly_what_is_left() -> None:
    plan = [deletion(1), deletion(2)]

    assert outcomes(plan, Brakes(budget_left={RULE: 2})) == {1: SEND, 2: SEND}


def test_budget_exceeded_trips_the_rule_and_sends_none_of_its_deletions() -> None:
    plan = [deletion(1, task_id=5), deletion(2, task_id=6), deletion(3, task_id=6, rule=OTHER)]

    decision = decide(plan, Brakes(budget_left={RULE: 1, OTHER: 5}))

    assert [a.outcome for a in decision.actions] == [TRIPPED, TRIPPED, SEND]
    assert decision.newly_tripped == {RULE: "would exceed B24_MAX_DELETIONS_PER_HOUR (2 more, 1 left)"}


def test_budget_counts_only_enforced_deletions() -> None:
    plan = [deletion(1), deletion(2, mode="shadow"), deletion(3, mode="shadow")]

    assert outcomes(plan, Brakes(budget_left={RULE: 1})) == {1: SEND, 2: SHADOW, 3: SHADOW}


def test_echo_blocked_deletions_do_not_use_up_the_budget() -> None:
    plan = [deletion(1, task_id=5), deletion(2, task_id=6)]
    brakes = Brakes(budget_left={RULE: 1}, echo_blocked=frozenset({(5, RULE)}))

    decision = decide(plan, brakes)

    assert [a.outcome for a in decision.actions] == [SKIPPED, SEND]
    assert decision.newly_tripped == {}


def test_dry_run_never_trips_on_budget() -> None:
    decision = decide([deletion(1), deletion(2)], Brakes(dry_run=True, budget_left={RULE: 0}))

    assert [a.outcome for a in decision.actions] == [DRY_RUN, DRY_RUN]
    assert decision.newly_tripped == {}


def test_a_rule_with_no_budget_entry_is_not_limited() -> None:
    # The shell computes budgets for the rules it sees; a missing entry must not be read as zero.
    assert outcomes([deletion(1), deletion(2)], Brakes(budget_left={OTHER: 0})) == {1: SEND, 2: SEND}


def test_an_entry_an_operator_restored_is_never_deleted_again_and_costs_no_budget() -> None:
    brakes = Brakes(restored=frozenset({(691, 1)}), budget_left={RULE: 1})
    decision = decide([deletion(1), deletion(2)], brakes)

    assert [(a.deletion.item_id, a.outcome) for a in decision.actions] == [(1, SKIPPED), (2, SEND)]
    assert decision.actions[0].note == RESTORED
    assert decision.newly_tripped == {}
    # The same item id on another task is another entry.
    assert outcomes([deletion(1, task_id=692)], brakes) == {1: SEND}

"""`b24rules simulate`: evaluate one live task read-only and explain the result.

It reads what the worker would read — the same task fields, and the status history only when a rule
needs the previous status and no snapshot is stored — so the report shows what the service would do.
"""

from __future__ import annotations

from service.bitrix.portal import TaskState
from service.clock import utcnow
from service.core.evaluation import ClaimView, evaluate_claim
from service.core.explain import explain
from service.core.rules import RuleSet, needs_history, task_select
from service.runtime import Runtime
from service.store.breakers import Breakers
from service.store.snapshots import TaskSnapshots
from service.wiring import make_gateway


class SimulationError(Exception):
    pass


def simulate_task(runtime: Runtime, task_id: int, event_name: str, *, use_snapshot: bool = True) -> str:
    ruleset = runtime.rules.current()
    if ruleset is None:
        problems = "; ".join(runtime.rules.status().problems[:5])
        raise SimulationError(f"the rules do not load: {problems}")
    snapshot = TaskSnapshots(runtime.engine).get(task_id) if use_snapshot else None
    with_history = {task_id} if needs_history(ruleset) and snapshot is None else set()
    select = tuple(dict.fromkeys((*task_select(ruleset), "TITLE")))  # the title only labels the report
    state = make_gateway(runtime).fetch([task_id], select, with_history)[task_id]
    if isinstance(state, BaseException):
        raise SimulationError(f"cannot read task {task_id}: {state}")
    assert isinstance(state, TaskState)
    if state.task is None:
        raise SimulationError(f"task {task_id} does not exist or the webhook's user cannot see it")
    view = ClaimView(task_id, (event_name,), None, "", "", "event")
    evaluation = evaluate_claim(
        ruleset,
        view,
        task=state.task,
        entries=state.entries,
        history=state.history,
        stored_status=snapshot.status if snapshot else None,
        now=utcnow(),
    )
    basis = ""
    if snapshot is not None:
        basis = f"from the snapshot stored {snapshot.seen_at:%Y-%m-%d %H:%M} UTC"
    elif state.history is not None:
        basis = "from the task's status history: no snapshot stored"
    report = explain(
        evaluation.plans,
        task=state.task,
        entries=state.entries,
        transition=evaluation.transition,
        basis=basis,
        notes=_notes(runtime, ruleset),
        descriptions={rule.name: rule.description for rule in ruleset.rules},
    )
    return report + "\n\nread-only: nothing was deleted, recorded or changed."


def _notes(runtime: Runtime, ruleset: RuleSet) -> list[str]:
    """What would stop a deletion after the plan: dry-run, and rules tripped to shadow by a breaker."""
    notes = []
    if runtime.settings.b24_dry_run:
        notes.append("B24_DRY_RUN is on: the service records what it would delete and deletes nothing")
    names = {rule.name for rule in ruleset.rules}
    for rule, trip in Breakers(runtime.engine).tripped().items():
        if rule in names:
            since = f"{trip.tripped_at:%Y-%m-%d %H:%M} UTC"
            notes.append(
                f"rule {rule} is tripped since {since} ({trip.reason}): it deletes nothing until re-armed"
            )
    return notes

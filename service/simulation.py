"""`b24rules simulate`: evaluate one live task read-only and explain the result."""

from __future__ import annotations

from service.bitrix.portal import TaskState
from service.clock import utcnow
from service.core.evaluation import ClaimView, evaluate_claim
from service.core.explain import explain
from service.core.rules import task_select
from service.runtime import Runtime
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
    gateway = make_gateway(runtime)
    state = gateway.fetch([task_id], task_select(ruleset), {task_id})[task_id]
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
    return explain(evaluation.plans, task=state.task, entries=state.entries, transition=evaluation.transition)

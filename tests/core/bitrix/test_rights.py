"""The verdict on the credentials: administrator, scope task, tasks listable; each failure says its fix."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from service.core.bitrix import BitrixError, PermanentError, Reply, TransientError, judge_rights, rights_calls


def answers(
    admin: object = True, scopes: Iterable[str] | BitrixError = ("task",), tasks: BitrixError | None = None
) -> dict[str, Reply | BitrixError]:
    return {
        "profile": Reply({"ID": "7", "ADMIN": admin}),
        "scope": Reply(list(scopes)) if not isinstance(scopes, BitrixError) else scopes,
        "tasks": tasks if isinstance(tasks, Exception) else Reply({"tasks": []}),
    }


def test_an_administrator_with_scope_task_passes() -> None:
    verdict = judge_rights(answers())
    assert verdict.ok
    assert "user 7" in verdict.reason


@pytest.mark.parametrize("admin", [False, None, "Y", 1])
def test_anything_but_admin_true_fails_with_the_fix(admin: object) -> None:
    verdict = judge_rights(answers(admin=admin))
    assert not verdict.ok
    assert "user 7 is not a Bitrix24 administrator" in verdict.reason
    assert "create the incoming webhook as a portal administrator" in verdict.reason


def test_missing_scope_task_fails_with_the_fix() -> None:
    verdict = judge_rights(answers(scopes=("crm", "user")))
    assert not verdict.ok
    assert "scope task" in verdict.reason


def test_a_refused_task_list_fails() -> None:
    denied = PermanentError("insufficient_scope", "", 403, "tasks.task.list")
    verdict = judge_rights(answers(tasks=denied))
    assert not verdict.ok
    assert "HTTP 403" in verdict.reason


def test_a_transient_failure_is_no_verdict() -> None:
    with pytest.raises(TransientError):
        judge_rights(answers(tasks=TransientError("TIMEOUT", "", None, "tasks.task.list")))


def test_one_batch_asks_profile_scope_and_tasks() -> None:
    assert [c.method for c in rights_calls().values()] == ["profile", "scope", "tasks.task.list"]

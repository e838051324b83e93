"""Can these credentials do the service's work? An administrator, with scope `task`, who can list tasks.

A webhook acts with its creator's rights (https://apidocs.bitrix24.com/local-integrations/local-webhooks.html).
A non-administrator sees only the tasks they take part in: for every other task `tasks.task.get` answers
`[]`, `task.elapseditem.getlist` fails "task not found" and `task.elapseditem.delete` "item not found",
exactly what a deleted task or entry looks like; and deleting other people's entries needs an
administrator anyway. So the service deletes nothing until `profile` says ADMIN
(https://apidocs.bitrix24.com/api-reference/common/users/profile.html) and `scope` lists `task`
(https://apidocs.bitrix24.com/api-reference/common/system/scope.html).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.core.bitrix.calls import Call
from service.core.bitrix.errors import BitrixError, PermanentError
from service.core.bitrix.replies import Reply

ADMIN_FIX = "create the incoming webhook as a portal administrator (docs/deploy.md)"
SCOPE_FIX = "edit the incoming webhook and give it the scope task (Tasks)"


def rights_calls() -> dict[str, Call]:
    """One batch: who the caller is, its scopes, and one page of tasks (the list must not fail)."""
    return {
        "profile": Call("profile"),
        "scope": Call("scope"),
        "tasks": Call("tasks.task.list", (("select", ["ID"]), ("start", -1))),
    }


@dataclass(frozen=True)
class Rights:
    ok: bool
    reason: str  # one line: what is wrong and how to fix it, or what was found


def judge(answers: Mapping[str, Reply | BitrixError]) -> Rights:
    """The verdict on a `rights_calls` batch; raises a transient error (try again later) as is."""
    for answer in answers.values():
        if isinstance(answer, BitrixError) and not isinstance(answer, PermanentError):
            raise answer
    profile, scopes, tasks = answers["profile"], answers["scope"], answers["tasks"]
    if isinstance(profile, BitrixError):
        return Rights(False, f"profile failed ({profile.headline}): check the webhook URL")
    user = profile.result if isinstance(profile.result, dict) else {}
    who = f"user {user.get('ID', '?')}"
    if user.get("ADMIN") is not True:
        return Rights(False, f"the webhook's {who} is not a Bitrix24 administrator: {ADMIN_FIX}")
    granted = scopes.result if isinstance(scopes, Reply) and isinstance(scopes.result, list) else []
    if "task" not in granted:
        return Rights(False, f"the webhook lacks the scope task: {SCOPE_FIX}")
    if isinstance(tasks, BitrixError):
        return Rights(False, f"listing tasks failed ({tasks.headline}): {SCOPE_FIX}")
    return Rights(True, f"the webhook's {who} is an administrator with the scope task")

"""Scope-``basic`` methods every webhook may call: ``profile``, ``user.admin``, ``scope``, ``server.time``.

Docs: https://apidocs.bitrix24.com/api-reference/common/users/profile.html (ADMIN: whether the caller
is a portal administrator), .../common/users/user-admin.html (the same, as a bare boolean result),
.../common/system/scope.html (the webhook's scopes; ``basic`` is never
listed), .../common/system/server-time.html (the portal's clock, ISO 8601 with its offset).
"""

from __future__ import annotations

from .model import iso
from .params import get_ci, truthy
from .registry import SCOPES, Call, Outcome, method


@method("profile", scope="basic")
def profile(call: Call) -> Outcome:
    user = call.portal.user(call.webhook.user_id)
    return Outcome(
        {
            "ID": str(user.id),
            "ADMIN": call.webhook.admin,
            "NAME": user.name,
            "LAST_NAME": user.last_name,
            "PERSONAL_GENDER": "",
            "TIME_ZONE": "",
        }
    )


@method("user.admin", scope="basic")
def user_admin(call: Call) -> Outcome:
    return Outcome(call.webhook.admin)


@method("scope", scope="basic")
def scope(call: Call) -> Outcome:
    if truthy(get_ci(call.params, "full", False)):
        return Outcome(sorted({s for s in SCOPES.values() if s != "basic"}))
    return Outcome([s for s in call.webhook.scopes if s != "basic"])


@method("server.time", scope="basic")
def server_time(call: Call) -> Outcome:
    return Outcome(iso(call.portal.now()))

"""What the status page uses, handed to it by the composition root (assembly/webwiring.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from flask import current_app

from service.core.portaladmission import PortalAdmin
from service.core.redaction import Redactor
from service.plumbing.rulesource import RuleSource
from service.store.audit import AuditLog
from service.store.breakers import Breakers
from service.store.insight import Insight
from service.store.journal import Journal
from service.store.operatoractions import OperatorActions

UI = "b24rules.ui"

# Restore one portal's audit records by id: one (line, ok) per record (operations.restoration).
Restore = Callable[[str, Sequence[int]], list[tuple[str, bool]]]
# Simulate one task of one portal for one event name: the report text (operations.simulation).
Simulate = Callable[[str, int, str], str]


class PortalAdmins(Protocol):
    def admit(self, member_id: str, auth_id: str) -> PortalAdmin:
        """The administrator behind `auth_id` on the installed portal `member_id`, or AdmissionRefused
        (operations/portaladmins.py: checked with the portal)."""


@dataclass(frozen=True)
class PortalView:
    """One portal's data as the status page reads it: '' is webhook mode's one portal (every row), a
    member id one installed portal's rows only (application mode)."""

    portal: str
    audit: AuditLog
    journal: Journal
    breakers: Breakers
    insight: Insight
    rules: RuleSource  # the portal's effective rule set (the shared folder, and its own folder)


@dataclass(frozen=True)
class PortalChoice:
    member_id: str
    domain: str
    status: str


@dataclass(frozen=True)
class UiParts:
    token: str = field(repr=False)  # the sign-in secret: compared, never shown
    cookie_secure: bool
    actions: OperatorActions
    redactor: Redactor  # error texts stored by the pipeline are masked again before they are shown
    view: Callable[[str], PortalView]  # a portal's view, built once per process (it remembers hours)
    restore: Restore
    simulate: Simulate
    database_reachable: Callable[[], bool]
    backend: str
    dry_run: bool
    # Application mode: the installed portals (the header's picker) and the check that admits a portal's
    # administrators signing in from inside it (POST /ui/portal). Webhook mode: no portals, no check.
    portals: Callable[[], list[PortalChoice]] = lambda: []
    portal_admins: PortalAdmins | None = None


def ui_parts() -> UiParts:
    value = current_app.extensions[UI]
    assert isinstance(value, UiParts)
    return value

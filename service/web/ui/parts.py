"""What the status page uses, handed to it by the composition root (assembly/wiring.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import current_app

from service.core.redaction import Redactor
from service.plumbing.rulesource import RuleSource
from service.store.audit import AuditLog
from service.store.breakers import Breakers
from service.store.insight import Insight
from service.store.journal import Journal
from service.store.operatoractions import OperatorActions

if TYPE_CHECKING:
    from service.web.ui.access import Admission

UI = "b24rules.ui"

# Restore audit records by id: one (line, ok) per record (operations.restoration.restore_entries).
Restore = Callable[[Sequence[int]], list[tuple[str, bool]]]
# Simulate one task for one event name: the report text (operations.simulation.Simulator.task).
Simulate = Callable[[int, str], str]


@dataclass(frozen=True)
class UiParts:
    token: str = field(repr=False)  # the sign-in secret: compared, never shown
    cookie_secure: bool
    audit: AuditLog
    journal: Journal
    breakers: Breakers
    rules: RuleSource
    insight: Insight
    actions: OperatorActions
    redactor: Redactor  # error texts stored by the pipeline are masked again before they are shown
    restore: Restore
    simulate: Simulate
    database_reachable: Callable[[], bool]
    backend: str
    dry_run: bool
    # Other ways in besides the token (application mode: portal administrators, issue 13), tried in order
    # when a request carries no valid session cookie.
    admissions: tuple[Admission, ...] = ()


def ui_parts() -> UiParts:
    value = current_app.extensions[UI]
    assert isinstance(value, UiParts)
    return value

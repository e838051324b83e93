"""What a request may use, handed to the app factory explicitly (no process-wide bag of everything)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Engine, text

from service.core.appinstall import InstallHandler
from service.core.redaction import Redactor
from service.plumbing.rulesource import RuleSource, RuleStatus
from service.store.breakers import Breakers
from service.store.journal import Journal
from service.store.portalchecks import PortalChecks
from service.store.wakeups import Wakeups
from service.web.intake import GroupCommit

INTAKE = "b24rules.intake"
PARTS = "b24rules.parts"


@dataclass(frozen=True)
class WebParts:
    """The web half's dependencies: built once per process by the composition root."""

    engine: Engine
    journal: Journal
    rules: RuleSource
    breakers: Breakers
    redactor: Redactor
    application_token: str
    member_id: str | None
    dry_run: bool
    # Application mode: the install handler, and each installed portal's application token by member id.
    installer: InstallHandler | None = None
    portal_tokens: Callable[[str], str | None] | None = None
    # The worker's last verdict per portal on the credentials (administrator, scope task); no REST here.
    portal_checks: PortalChecks | None = None
    # Application mode: each active portal's effective rule set (domain → status), for /readyz.
    portal_rules: Callable[[], dict[str, RuleStatus]] | None = None
    # Offline delivery: where a verified ONOFFLINEEVENT sets its portal's wake-up mark for the poller.
    wakeups: Wakeups | None = None

    def database_reachable(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True


def parts() -> WebParts:
    value = current_app.extensions[PARTS]
    assert isinstance(value, WebParts)
    return value


def intake() -> GroupCommit:
    value = current_app.extensions[INTAKE]
    assert isinstance(value, GroupCommit)
    return value

"""The composition root's web half: the events endpoint's and the status page's collaborators, and the
gunicorn app built from them in each web process (after the fork)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask

from service.assembly.application import (
    ApplicationTokens,
    domain_of,
    make_application,
    make_installer,
    make_portal_admins,
    portal_choices,
)
from service.assembly.resources import Resources, build_resources
from service.assembly.uiviews import PortalViews
from service.assembly.wiring import make_simulator, operator_gateway
from service.operations.restoration import restore_entries
from service.plumbing.rulesource import RuleStatus
from service.plumbing.settings import Settings
from service.store.audit import AuditLog
from service.store.breakers import Breakers
from service.store.operatoractions import OperatorActions
from service.store.portalchecks import PortalChecks
from service.store.wakeups import Wakeups
from service.web.app import create_app
from service.web.context import WebParts
from service.web.server import WebServer, gunicorn_options
from service.web.ui.parts import UiParts


def web_parts(resources: Resources) -> WebParts:
    settings = resources.settings
    installer, tokens, portal_rules = None, None, None
    if settings.app_mode:
        app = make_application(resources)
        installer, tokens = make_installer(resources, app), ApplicationTokens(app.portals)

        def portal_rules() -> dict[str, RuleStatus]:
            sources = resources.portal_rules
            return {p.domain: sources.source(p.member_id, p.domain).status() for p in app.portals.active()}

    return WebParts(
        engine=resources.engine,
        journal=resources.journal,
        rules=resources.rules,
        breakers=Breakers(resources.engine),
        redactor=resources.redactor,
        application_token=settings.application_token or "",
        member_id=settings.b24_member_id,
        dry_run=settings.b24_dry_run,
        installer=installer,
        portal_tokens=tokens,
        portal_checks=PortalChecks(resources.engine),
        portal_rules=portal_rules,
        wakeups=Wakeups(resources.engine) if settings.offline_delivery else None,
    )


def ui_parts(resources: Resources, parts: WebParts) -> UiParts | None:
    """The status page's collaborators, or None when B24_UI_TOKEN is not set (the page is off).

    Its restore and simulate reach the portal; the gateway is built per action, when one runs, so a
    web process without B24_WEBHOOK_URL still serves the page (the action then says what is missing).
    In application mode every page shows one installed portal (`view`), and the portal's
    administrators may sign in from inside it (`portal_admins`).
    """
    settings = resources.settings
    if settings.ui_token is None:
        return None
    app = make_application(resources) if settings.app_mode else None

    def restore(portal: str, audit_ids: Sequence[int]) -> list[tuple[str, bool]]:
        # The gateway is made only if a record needs the portal.
        return restore_entries(
            AuditLog(resources.engine, portal),
            lambda: operator_gateway(resources, portal or None)[0],
            resources.redactor,
            audit_ids,
            rule=None,
            since=None,
        )

    def simulate(portal: str, task_id: int, event_name: str) -> str:
        return make_simulator(resources, portal or None).task(task_id, event_name)

    return UiParts(
        token=settings.ui_token,
        cookie_secure=settings.b24_ui_cookie_secure,
        actions=OperatorActions(resources.engine),
        redactor=resources.redactor,
        view=PortalViews(resources, parts, lambda member: domain_of(app, member)),
        restore=restore,
        simulate=simulate,
        database_reachable=parts.database_reachable,
        backend=resources.engine.dialect.name,
        dry_run=settings.b24_dry_run,
        portals=(lambda: portal_choices(app)) if app else (lambda: []),
        portal_admins=make_portal_admins(resources, app) if app else None,
    )


def make_web_app(settings: Settings) -> Flask:
    """One web process's app: its own engine and rule source (called after gunicorn's fork)."""
    resources = build_resources(settings, component="web")
    parts = web_parts(resources)
    return create_app(parts, ui_parts(resources, parts))


def run_web(settings: Settings, *, on_exit: Callable[[Any], None] | None = None) -> None:
    WebServer(lambda: make_web_app(settings), gunicorn_options(settings, on_exit=on_exit)).run()

"""The composition root: each long-lived component built once, from Resources, with what it uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from service.assembly.resources import Resources, build_resources
from service.bitrix.client import BitrixClient
from service.bitrix.limiter import SharedLimiter
from service.bitrix.portal import PortalGateway
from service.core.bitrix.leaky import usable_burst
from service.operations.diff import RuleDiffer
from service.operations.restoration import restore_entries
from service.operations.simulation import Simulator
from service.pipeline.enforcement import Enforcer
from service.pipeline.rounds import Processor
from service.pipeline.settlement import Settlement
from service.pipeline.sweeper import Sweeper
from service.pipeline.worker import Retention, Worker, worker_name
from service.plumbing import metrics
from service.plumbing.settings import Settings
from service.store.audit import AuditLog
from service.store.breakers import Breakers
from service.store.insight import Insight
from service.store.operatoractions import OperatorActions
from service.store.ratebucket import SqlRateBucket
from service.store.snapshots import TaskSnapshots
from service.store.sweeps import SweepState
from service.web.app import create_app
from service.web.context import WebParts
from service.web.server import WebServer, gunicorn_options
from service.web.ui.parts import UiParts


def portal_key(webhook_url: str) -> str:
    """The rate bucket's key: the portal's host (every app on one portal shares its limit), never the code."""
    return urlsplit(webhook_url).netloc.lower()


def make_gateway(resources: Resources) -> PortalGateway:
    settings = resources.settings
    settings.require_webhook()  # the event token is the web half's business, not REST calls'
    webhook_url = settings.webhook_url or ""
    limiter = SharedLimiter(
        SqlRateBucket(resources.engine),
        portal_key(webhook_url),
        rate=settings.b24_rate_limit,
        # A little below the portal's X, so uneven delivery never tips its counter over (limits.md).
        burst=usable_burst(settings.b24_rate_limit, settings.b24_rate_burst),
    )

    def count_request(method: str, outcome: str) -> None:
        metrics.REST_REQUESTS.labels(method=method, result=outcome).inc()

    def count_call(method: str, outcome: str) -> None:
        metrics.REST_CALLS.labels(method=method, result=outcome).inc()

    client = BitrixClient(webhook_url, limiter, on_request=count_request, on_call=count_call)
    return PortalGateway(client)


def make_sweeper(resources: Resources, gateway: PortalGateway, *, owner: str) -> Sweeper:
    state = SweepState(resources.engine)
    interval = resources.settings.b24_sweep_interval
    return Sweeper(resources.journal, gateway, state, owner=owner, interval=interval)


def make_processor(resources: Resources, gateway: PortalGateway) -> Processor:
    settings = resources.settings
    enforcer = Enforcer(
        gateway,
        AuditLog(resources.engine),
        Breakers(resources.engine),
        dry_run=settings.b24_dry_run,
        max_deletions_per_hour=settings.b24_max_deletions_per_hour,
    )
    settlement = Settlement(resources.journal, retry_base=settings.b24_retry_base_seconds)
    snapshots = TaskSnapshots(resources.engine)
    return Processor(resources.journal, resources.rules, gateway, enforcer, snapshots, settlement)


def make_worker(resources: Resources, *, owner: str | None = None, sweep: bool = True) -> Worker:
    settings = resources.settings
    gateway = make_gateway(resources)
    owner = owner or worker_name()
    sweeper = make_sweeper(resources, gateway, owner=owner) if sweep else None
    retention = Retention(
        audit_log=AuditLog(resources.engine),
        snapshots=TaskSnapshots(resources.engine),
        events=timedelta(days=settings.b24_event_retention_days),
        audit=timedelta(days=settings.b24_audit_retention_days),
    )
    return Worker(
        resources.journal,
        resources.rules,
        make_processor(resources, gateway),
        sweeper,
        retention,
        owner=owner,
        lease=timedelta(seconds=settings.b24_lease_seconds),
    )


def make_simulator(resources: Resources) -> Simulator:
    return Simulator(
        resources.rules,
        make_gateway(resources),
        TaskSnapshots(resources.engine),
        Breakers(resources.engine),
        dry_run=resources.settings.b24_dry_run,
    )


def make_differ(resources: Resources, *, live: bool) -> RuleDiffer:
    """`diff`'s comparer; `live` reads the portal through the shared limiter, otherwise no gateway exists."""
    return RuleDiffer(
        TaskSnapshots(resources.engine),
        Breakers(resources.engine),
        AuditLog(resources.engine),
        gateway=make_gateway(resources) if live else None,
    )


def web_parts(resources: Resources) -> WebParts:
    settings = resources.settings
    return WebParts(
        engine=resources.engine,
        journal=resources.journal,
        rules=resources.rules,
        breakers=Breakers(resources.engine),
        redactor=resources.redactor,
        application_token=settings.application_token or "",
        member_id=settings.b24_member_id,
        dry_run=settings.b24_dry_run,
    )


def ui_parts(resources: Resources, parts: WebParts) -> UiParts | None:
    """The status page's collaborators, or None when B24_UI_TOKEN is not set (the page is off).

    Its restore and simulate reach the portal; the gateway is built per action, when one runs, so a
    web process without B24_WEBHOOK_URL still serves the page (the action then says what is missing).
    """
    settings = resources.settings
    if settings.ui_token is None:
        return None
    audit = AuditLog(resources.engine)

    def restore(audit_ids: Sequence[int]) -> list[tuple[str, bool]]:
        # The gateway is made only if a record needs the portal.
        return restore_entries(
            audit, lambda: make_gateway(resources), resources.redactor, audit_ids, rule=None, since=None
        )

    def simulate(task_id: int, event_name: str) -> str:
        return make_simulator(resources).task(task_id, event_name)

    return UiParts(
        token=settings.ui_token,
        cookie_secure=settings.b24_ui_cookie_secure,
        audit=audit,
        journal=resources.journal,
        breakers=parts.breakers,
        rules=resources.rules,
        insight=Insight(resources.engine),
        actions=OperatorActions(resources.engine),
        restore=restore,
        simulate=simulate,
        database_reachable=parts.database_reachable,
        backend=resources.engine.dialect.name,
        dry_run=settings.b24_dry_run,
        redactor=resources.redactor,
    )


def make_web_app(settings: Settings) -> Flask:
    """One web process's app: its own engine and rule source (called after gunicorn's fork)."""
    resources = build_resources(settings, component="web")
    parts = web_parts(resources)
    return create_app(parts, ui_parts(resources, parts))


def run_web(settings: Settings, *, on_exit: Callable[[Any], None] | None = None) -> None:
    WebServer(lambda: make_web_app(settings), gunicorn_options(settings, on_exit=on_exit)).run()

"""The composition root: each long-lived component built once, from Resources, with what it uses."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from service.assembly.application import (
    Application,
    domain_of,
    make_application,
    offline_poller,
    portal_gateway,
    wakeup_marks,
)
from service.assembly.clients import counted_client, limiter_on, portal_key, shared_limiter
from service.assembly.operator import WEBHOOK, PortalScope, operator_portal, scope_gateway, scope_rules
from service.assembly.resources import Resources
from service.bitrix.limiter import SharedLimiter
from service.bitrix.portal import PortalGateway
from service.operations.diff import RuleDiffer
from service.operations.simulation import Simulator
from service.pipeline.confirmation import Confirmer
from service.pipeline.enforcement import Enforcer
from service.pipeline.notifying import Notifier
from service.pipeline.portals import PortalWorkers
from service.pipeline.rescan import EditRescan
from service.pipeline.rightscheck import RightsGate
from service.pipeline.rounds import Processor
from service.pipeline.settlement import Settlement
from service.pipeline.sweeper import Sweeper
from service.pipeline.worker import IDLE_CLAIM_ROOM, Retention, Worker, worker_name
from service.plumbing.rulesource import RuleSource
from service.plumbing.settings import Settings
from service.store.audit import AuditLog
from service.store.breakers import Breakers
from service.store.decided import DecidedTasks
from service.store.fingerprints import EntryFingerprints
from service.store.notices import NoticeLog
from service.store.portalchecks import PortalChecks
from service.store.snapshots import TaskSnapshots
from service.store.sweeps import SweepState


def webhook_gateway(settings: Settings, engine: Engine) -> PortalGateway:
    """A gateway on the webhook portal from settings and a database alone (`doctor`: no rules, no
    schema changes), under the same shared limiter as every other process."""
    settings.require_webhook()
    webhook_url = settings.webhook_url or ""
    return PortalGateway(counted_client(webhook_url, limiter_on(settings, engine, portal_key(webhook_url))))


def make_gateway(resources: Resources) -> PortalGateway:
    settings = resources.settings
    settings.require_webhook()  # the event token is the web half's business, not REST calls'
    webhook_url = settings.webhook_url or ""
    return PortalGateway(counted_client(webhook_url, shared_limiter(resources, portal_key(webhook_url))))


def make_sweeper(resources: Resources, gateway: PortalGateway, *, owner: str, portal: str = "") -> Sweeper:
    settings = resources.settings
    state = SweepState(resources.engine, f"tasks@{portal}" if portal else "tasks")
    rescan = EditRescan(gateway, EntryFingerprints(resources.engine, portal), hours=settings.b24_rescan_hours)
    return Sweeper(
        resources.journal.for_portal(portal),
        gateway,
        state,
        owner=owner,
        interval=settings.b24_sweep_interval,
        audit=AuditLog(resources.engine, portal),
        # An open audit row older than two leases belongs to no running round any more.
        settle_after=timedelta(seconds=2 * settings.b24_lease_seconds),
        rescan=rescan,
    )


def make_processor(
    resources: Resources, gateway: PortalGateway, portal: str = "", rules: RuleSource | None = None
) -> Processor:
    settings = resources.settings
    journal = resources.journal.for_portal(portal)
    audit = AuditLog(resources.engine, portal)
    confirmer = Confirmer(gateway, audit)
    enforcer = Enforcer(
        gateway,
        audit,
        Breakers(resources.engine, portal),
        confirmer,
        dry_run=settings.b24_dry_run,
        max_deletions_per_hour=settings.b24_max_deletions_per_hour,
    )
    settlement = Settlement(journal, retry_base=settings.b24_retry_base_seconds)
    snapshots = TaskSnapshots(resources.engine, portal)
    notifier = Notifier(gateway, NoticeLog(resources.engine, portal))
    parts = (journal, rules or resources.rules, gateway, enforcer, snapshots, settlement)
    decided = DecidedTasks(resources.engine, portal)
    return Processor(*parts, confirmer=confirmer, notifier=notifier, decided=decided)


def make_worker(
    resources: Resources, *, owner: str | None = None, sweep: bool = True
) -> Worker | PortalWorkers:
    """The webhook portal's worker, or in application mode one worker per installed portal."""
    if resources.settings.app_mode:
        app = make_application(resources)
        offline, marks = resources.settings.offline_delivery, wakeup_marks(resources)
        return PortalWorkers(
            lambda: [record.member_id for record in app.portals.active()],
            lambda member: make_portal_worker(resources, app, member, owner=owner, sweep=sweep),
            poller=(lambda member: offline_poller(resources, app, member, marks)) if offline else None,
        )
    limiter = shared_limiter(resources, portal_key(resources.settings.webhook_url or ""))
    return assemble_worker(resources, make_gateway(resources), limiter, owner=owner, sweep=sweep)


def make_portal_worker(
    resources: Resources, app: Application, member_id: str, *, owner: str | None, sweep: bool
) -> Worker:
    gateway = portal_gateway(resources, app, member_id)
    record = app.portals.get(member_id)
    # The same bucket as the portal's client (application.portal_client keys it by the portal's host).
    limiter = shared_limiter(resources, portal_key(record.client_endpoint)) if record else None
    rules = resources.portal_rules.source(member_id, domain_of(app, member_id))
    return assemble_worker(
        resources, gateway, limiter, owner=owner, sweep=sweep, portal=member_id, rules=rules
    )


def assemble_worker(
    resources: Resources,
    gateway: PortalGateway,
    limiter: SharedLimiter | None,
    *,
    owner: str | None,
    sweep: bool,
    portal: str = "",
    rules: RuleSource | None = None,
) -> Worker:
    """One portal's worker ('' = the webhook portal) on `gateway` and `rules` (default: the shared
    folder's); `limiter` lets a lone event be claimed at once while the portal's budget has room."""
    settings = resources.settings
    rules = rules or resources.rules
    owner = owner or worker_name()
    sweeper = make_sweeper(resources, gateway, owner=owner, portal=portal) if sweep else None
    retention = Retention(
        audit_log=AuditLog(resources.engine),
        snapshots=TaskSnapshots(resources.engine),
        events=timedelta(days=settings.b24_event_retention_days),
        audit=timedelta(days=settings.b24_audit_retention_days),
        decided=DecidedTasks(resources.engine),
        notices=NoticeLog(resources.engine),
    )
    return Worker(
        resources.journal.for_portal(portal),
        rules,
        make_processor(resources, gateway, portal, rules),
        sweeper,
        retention,
        owner=owner,
        lease=timedelta(seconds=settings.b24_lease_seconds),
        # A lone event is claimed at once only while the portal's request budget has room (worker.py).
        has_room=(lambda: limiter.room() >= IDLE_CLAIM_ROOM) if limiter else (lambda: False),
        gate=RightsGate(gateway, PortalChecks(resources.engine), portal),
    )


def make_simulator(resources: Resources, portal_key: str | None = None) -> Simulator:
    scope = operator_portal(resources, portal_key)
    portal = scope.member_id
    return Simulator(
        scope_rules(resources, scope),
        scope_gateway(resources, scope),
        TaskSnapshots(resources.engine, portal),
        Breakers(resources.engine, portal),
        AuditLog(resources.engine, portal),
        dry_run=resources.settings.b24_dry_run,
        max_deletions_per_hour=resources.settings.b24_max_deletions_per_hour,
    )


def operator_gateway(resources: Resources, portal_key: str | None) -> tuple[PortalGateway, str]:
    """An operator command's portal: the webhook portal, or (application mode) the `--portal` one."""
    scope = operator_portal(resources, portal_key)
    return scope_gateway(resources, scope), scope.member_id


def make_differ(resources: Resources, scope: PortalScope = WEBHOOK, *, live: bool) -> RuleDiffer:
    """`diff`'s comparer on one portal's stored data; `live` reads that portal through its shared
    limiter, otherwise no gateway exists."""
    portal = scope.member_id
    return RuleDiffer(
        TaskSnapshots(resources.engine, portal),
        Breakers(resources.engine, portal),
        AuditLog(resources.engine, portal),
        DecidedTasks(resources.engine, portal),
        gateway=scope_gateway(resources, scope) if live else None,
    )

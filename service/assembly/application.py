"""Application mode's composition: the portals table, OAuth, per-portal clients, installer and workers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Engine

from service.assembly.clients import counted_client, limiter_on
from service.assembly.resources import Resources
from service.bitrix.auth import OAuthAuth, TokenSource
from service.bitrix.client import BitrixClient
from service.bitrix.oauth import OAuthServer, PortalTokens
from service.bitrix.portal import PortalGateway
from service.operations.installation import Connect, Installer
from service.operations.portaladmins import PortalAdmins
from service.operations.subscription import Subscriber
from service.pipeline.offline import WAKE_CHECK_SECONDS, WOKEN_POLL_SECONDS, OfflinePoller
from service.plumbing.clock import utcnow
from service.plumbing.sentry import capture_failure
from service.plumbing.settings import Settings
from service.store.offline import OfflineInbox
from service.store.portals import UNINSTALLED, Portals
from service.store.sealing import Sealer
from service.store.wakeups import MarkBoard, Wakeups
from service.web.ui.parts import PortalChoice

TOKEN_CACHE_SECONDS = 5.0  # an uninstall or reinstall reaches every web process within this


@dataclass(frozen=True)
class Application:
    portals: Portals
    oauth: OAuthServer
    subscriber: Subscriber
    client_id: str


def make_application(resources: Resources) -> Application:
    return application_on(resources.settings, resources.engine)


def application_on(settings: Settings, engine: Engine) -> Application:
    """The application from settings and a database alone (`doctor` builds no other resources)."""
    settings.require_application()
    assert settings.b24_encryption_key is not None
    assert settings.b24_app_client_secret is not None
    portals = Portals(engine, Sealer(settings.b24_encryption_key.get_secret_value()))
    oauth = OAuthServer(
        settings.b24_app_client_id or "",
        settings.b24_app_client_secret.get_secret_value(),
        fixed_url=settings.b24_oauth_url,
    )
    subscriber = Subscriber(portals, settings.b24_delivery, settings.b24_public_url, utcnow)
    return Application(portals, oauth, subscriber, settings.b24_app_client_id or "")


def _report_reinstall(member_id: str, reason: str) -> None:
    capture_failure("portal needs reinstalling: its tokens cannot be renewed", {"member_id": member_id},
                    reason=reason)  # fmt: skip


def portal_client(
    resources: Resources, app: Application, client_endpoint: str, member_id: str, tokens: TokenSource | None
) -> BitrixClient:
    """A client for one installed portal: its OAuth token and its own rate bucket (keyed by its host)."""
    return client_on(resources.settings, resources.engine, app, client_endpoint, member_id, tokens)


def client_on(
    settings: Settings,
    engine: Engine,
    app: Application,
    client_endpoint: str,
    member_id: str,
    tokens: TokenSource | None,
) -> BitrixClient:
    if tokens is None:
        record = app.portals.get(member_id)
        server_endpoint = record.server_endpoint if record else ""
        tokens = PortalTokens(
            app.portals, member_id, server_endpoint, app.oauth, on_needs_reinstall=_report_reinstall
        )
    limiter = limiter_on(settings, engine, urlsplit(client_endpoint).netloc.lower())
    return counted_client(OAuthAuth(client_endpoint, tokens), limiter)


class PortalChoiceError(ValueError):
    """`--portal` is missing, unknown or not active; the message says which portals there are."""


def choose_portal(app: Application, key: str | None, *, uninstalled_ok: bool = False) -> str:
    """The member id of the portal an operator command acts on: `key` (domain or member id), or the
    only active portal when `key` is None. `uninstalled_ok`: a command that only reads what is stored
    (the audit stays after an uninstall) may name an uninstalled portal."""
    if key:
        record = app.portals.find(key)
        if record is None:
            raise PortalChoiceError(f"no installed portal {key!r} (see b24rules portals)")
        if record.status != "active" and not uninstalled_ok:
            raise PortalChoiceError(f"portal {record.domain} is {record.status}")
        return record.member_id
    active = app.portals.active()
    if len(active) == 1:
        return active[0].member_id
    if not active:
        raise PortalChoiceError("no portal has installed b24rules yet")
    domains = ", ".join(record.domain for record in active)
    raise PortalChoiceError(f"several portals are installed ({domains}): pass --portal DOMAIN|MEMBER_ID")


def portal_gateway(resources: Resources, app: Application, member_id: str) -> PortalGateway:
    record = app.portals.get(member_id)
    if record is None:
        raise LookupError(f"portal {member_id} is not installed")
    return PortalGateway(portal_client(resources, app, record.client_endpoint, member_id, None))


def offline_poller(
    resources: Resources, app: Application, member_id: str, marks: MarkBoard | None = None
) -> OfflinePoller:
    """A portal's poller; with `marks` (ONOFFLINEEVENT bound: B24_PUBLIC_URL set) woken by its notices."""
    record = app.portals.get(member_id)
    if record is None:
        raise LookupError(f"portal {member_id} is not installed")
    client = portal_client(resources, app, record.client_endpoint, member_id, None)
    inbox = OfflineInbox(resources.engine, member_id)
    if marks is None:
        return OfflinePoller(inbox, client, record.domain)
    return OfflinePoller(
        inbox, client, record.domain, poll_seconds=WOKEN_POLL_SECONDS, woken=lambda: marks.take(member_id)
    )


def wakeup_marks(resources: Resources) -> MarkBoard | None:
    """The process's shared read of the wake-up marks, when ONOFFLINEEVENT is bound (subscription.planned)."""
    if not resources.settings.b24_public_url:
        return None
    return MarkBoard(Wakeups(resources.engine), max_age=WAKE_CHECK_SECONDS)


def _connector(resources: Resources, app: Application) -> Connect:
    """A REST caller for (member id, client endpoint, tokens or None for the stored ones)."""

    def connect(member_id: str, client_endpoint: str, tokens: TokenSource | None) -> BitrixClient:
        return portal_client(resources, app, client_endpoint, member_id, tokens)

    return connect


def make_installer(resources: Resources, app: Application) -> Installer:
    connect = _connector(resources, app)
    return Installer(
        app.portals, resources.journal, app.subscriber, connect, app.client_id, utcnow,
        app.oauth.renew_for_install, plain_http_allowed=_loopback_http(app.oauth.trusted_url()),
    )  # fmt: skip


def make_portal_admins(resources: Resources, app: Application) -> PortalAdmins:
    """The status page's check of a portal administrator signing in from inside their portal."""
    return PortalAdmins(app.portals, _connector(resources, app), app.client_id)


def domain_of(app: Application | None, member_id: str) -> str:
    """An installed portal's domain (its rules folder may be named by it); the member id if unknown."""
    record = app.portals.get(member_id) if app else None
    return record.domain if record else member_id


def portal_choices(app: Application) -> list[PortalChoice]:
    """The installed portals the status page's picker offers (uninstalled ones are left out)."""
    return [
        PortalChoice(record.member_id, record.domain, record.status)
        for record in app.portals.all()
        if record.status != UNINSTALLED
    ]


def _loopback_http(url: str) -> bool:
    """Plain http to our OAuth server only makes sense on loopback (tests, the sandbox); then the
    portals it vouches for are loopback http too, so the https and host checks cannot apply."""
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in {"127.0.0.1", "localhost", "::1"}


class ApplicationTokens:
    """member id → application token, read from the database at most every few seconds per portal."""

    def __init__(self, portals: Portals, ttl: float = TOKEN_CACHE_SECONDS) -> None:
        self._portals = portals
        self._ttl = ttl
        self._cache: dict[str, tuple[float, str | None]] = {}

    def __call__(self, member_id: str) -> str | None:
        now = time.monotonic()
        cached = self._cache.get(member_id)
        # An unknown portal is asked again after a second: an install may be landing right now.
        if cached is not None and now - cached[0] < (self._ttl if cached[1] else 1.0):
            return cached[1]
        token = self._portals.application_token(member_id) if member_id else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[member_id] = (now, token)
        return token

"""`doctor`'s checks of one portal: the webhook portal, or each installed portal in application mode.

The same checks either way (reachable, credentials, scope, administrator, clock, the last event, dead
letters, tripped rules), each reading only that portal's rows; application mode adds the installation's
state (a portal whose tokens cannot be renewed needs reinstalling) and its event bindings (`event.get`).
A fix names what to do in the mode at hand: a webhook is re-created, an application reinstalled.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import Engine

from service.bitrix.portal import PortalGateway
from service.core.bitrix import BitrixError, Reply
from service.core.bitrix.rights import ADMIN_FIX, SCOPE_FIX
from service.core.layering import load_layered
from service.operations.checkup import Fail, Findings, InstalledPortals, Skip
from service.plumbing.rulesource import RulesDirError, read_rule_layers
from service.plumbing.settings import Settings
from service.store.breakers import Breakers
from service.store.insight import Insight
from service.store.journal import Journal
from service.store.portals import ACTIVE

MAX_SKEW = timedelta(seconds=60)
QUIET_WARNING = timedelta(days=7)

REINSTALL = "reinstall the application from the portal (an install stores new tokens and binds our events)"
FIXES: dict[str, dict[str, str]] = {
    "webhook": {
        "unreachable": "check B24_WEBHOOK_URL's host and that this machine can reach it over HTTPS",
        "refused": "the webhook is not accepted: copy the incoming webhook's URL again into B24_WEBHOOK_URL",
        "credentials": "copy the incoming webhook's URL again into B24_WEBHOOK_URL",
        "scope": SCOPE_FIX,
        "scope im": "edit the incoming webhook and give it the scope im (Chat and notifications)",
        "administrator": ADMIN_FIX,
        "quiet": "check the outgoing webhook's handler URL (…/bitrix24/events) and that it is reachable",
    },
    "application": {
        "unreachable": "check that this machine can reach the portal over HTTPS",
        "refused": f"the portal refused the application's token: {REINSTALL}",
        "credentials": REINSTALL,
        "scope": "give the local application the scope task in the portal, then reinstall it",
        "scope im": "give the local application the scope im in the portal, then reinstall it",
        "administrator": "reinstall the application as a portal administrator (its token acts as that user)",
        "quiet": "check the event bindings above, and that the events URL or the offline poller works",
    },
}


def _fix(found: Findings, what: str) -> str:
    return FIXES["application" if found.portal else "webhook"][what]


def _installation(found: Findings) -> str:
    portal = found.need("portal", "portals")
    if portal.status != ACTIVE:
        raise Fail(f"{portal.status}: {portal.status_reason or 'no reason recorded'}", REINSTALL)
    found.active = True
    return f"active since {portal.installed_at.isoformat(timespec='seconds')}"


def _portal(found: Findings) -> str:
    settings: Settings = found.need("settings", "settings")
    engine: Engine = found.need("engine", "database")
    if found.portal:
        installed: InstalledPortals = found.need("installed", "portals")
        found.need("active", "installation")
        found.gateway = installed.gateway(found.portal.member_id)
        host = urlsplit(found.portal.client_endpoint).hostname or found.portal.domain
    else:
        found.gateway = found.make_gateway(settings, engine)
        host = urlsplit(settings.webhook_url or "").hostname or "the portal"
    try:
        found.rights = found.gateway.ask_rights()
    except BitrixError as error:
        raise Fail(error.headline, _fix(found, "refused" if error.status == 401 else "unreachable")) from None
    return f"{host} answers"


def _credentials(found: Findings) -> str:
    profile = found.need("rights", "portal")["profile"]
    if isinstance(profile, BitrixError):
        raise Fail(profile.headline, _fix(found, "credentials"))
    user = profile.result if isinstance(profile.result, dict) else {}
    acting = "the application" if found.portal else "the webhook"
    return f"{acting} acts as user {user.get('ID', '?')} {user.get('NAME', '')}".rstrip()


def _scope(found: Findings) -> str:
    answers = found.need("rights", "portal")
    scopes = answers["scope"]
    granted = scopes.result if isinstance(scopes, Reply) and isinstance(scopes.result, list) else []
    if "task" not in granted or isinstance(answers["tasks"], BitrixError):
        raise Fail(f"scopes: {', '.join(map(str, granted)) or 'none'}", _fix(found, "scope"))
    return "task"


def _scope_im(found: Findings) -> str:
    """`notify` with `via: notification` calls im.notify.system.add, which needs the scope im: without it
    every such message fails five times and is abandoned; say so before the first one does."""
    settings: Settings = found.need("settings", "settings")
    keys = (found.portal.domain, found.portal.member_id) if found.portal else ()
    try:
        loaded = load_layered(*read_rule_layers(settings.b24_rules_dir, keys))
    except RulesDirError:
        raise Skip("skipped: rules failed") from None
    if loaded.ruleset is None:
        raise Skip("skipped: rules failed")
    rules = [r for r in loaded.ruleset.rules if r.enabled and r.notify and r.notify.via == "notification"]
    if not rules:
        return "not needed: no rule notifies via notification"
    # Shadow mode and dry-run record what would be said and send nothing: the scope is not needed yet.
    notifying = [] if settings.b24_dry_run else [r.name for r in rules if r.mode == "enforce"]
    scopes = found.need("rights", "portal")["scope"]
    granted = scopes.result if isinstance(scopes, Reply) and isinstance(scopes.result, list) else []
    if not notifying and "im" not in granted:
        names = ", ".join(r.name for r in rules)
        return f"not needed yet: {names} only record what they would send; give the scope im before enforcing"
    if "im" not in granted:
        names = ", ".join(notifying)
        raise Fail(f"{names} notif{'ies' if len(notifying) == 1 else 'y'} via notification; scopes: "
                   f"{', '.join(map(str, granted)) or 'none'}", _fix(found, "scope im"))  # fmt: skip
    return f"im (for {', '.join(notifying)})"


def _administrator(found: Findings) -> str:
    profile = found.need("rights", "portal")["profile"]
    user = profile.result if isinstance(profile, Reply) and isinstance(profile.result, dict) else {}
    if user.get("ADMIN") is not True:
        raise Fail(
            f"user {user.get('ID', '?')} is not a Bitrix24 administrator", _fix(found, "administrator")
        )
    return f"user {user.get('ID')} is an administrator"


def _clock(found: Findings) -> str:
    gateway: PortalGateway = found.need("gateway", "portal")
    skew = gateway.server_time() - found.clock()
    if abs(skew) > MAX_SKEW:
        fix = "synchronise this machine's clock (NTP); rules on dates and the sweep need the two to agree"
        raise Fail(f"this machine's clock is {-skew.total_seconds():+.0f} s off the portal's", fix)
    return f"{-skew.total_seconds():+.0f} s against the portal"


def _bindings(found: Findings) -> str:
    installed: InstalledPortals = found.need("installed", "portals")
    found.need("gateway", "portal")
    missing = installed.missing_bindings(found.member_id)
    if missing:
        raise Fail(f"event.get does not list {', '.join(missing)}", REINSTALL)
    return "event.get lists every event we bind"


def _last_event(found: Findings) -> str:
    engine: Engine = found.need("engine", "database")
    # What the portal posted: sweeps and replays queue events too, and would hide a dead webhook.
    newest = Insight(engine, found.member_id if found.portal else "").last_event_at()
    if newest is None:
        return "none received yet"
    age = found.clock() - newest
    if age > QUIET_WARNING:
        when = newest.isoformat(timespec="seconds")
        raise Fail(f"the last event arrived {when}, {age.days} days ago", _fix(found, "quiet"))
    return f"{newest.isoformat(timespec='seconds')} ({int(age.total_seconds())} s ago)"


def _dead_letters(found: Findings) -> str:
    engine: Engine = found.need("engine", "database")
    dead = Journal(engine).for_portal(found.member_id).stats(found.clock()).dead
    if dead:
        flag = found.portal_flag
        fix = f"see them with `b24rules dead-letters{flag}`, fix the cause, "
        fix += f"retry with `b24rules replay{flag} --failed`"
        raise Fail(f"{dead} event(s) waiting as dead letters", fix)
    return "none"


def _tripped(found: Findings) -> str:
    engine: Engine = found.need("engine", "database")
    tripped = Breakers(engine, found.member_id).tripped()
    if tripped:
        flag = found.portal_flag
        fix = f"review `b24rules audit{flag} --outcome tripped`, then `b24rules rearm{flag} RULE`"
        raise Fail(f"tripped to shadow: {', '.join(tripped)}", fix)
    return "none"


Check = tuple[str, Callable[[Findings], str]]

# (name, check, application mode only)
_PORTAL_CHECKS: tuple[tuple[str, Callable[[Findings], str], bool], ...] = (
    ("installation", _installation, True),
    ("portal reachable", _portal, False),
    ("credentials", _credentials, False),
    ("scope task", _scope, False),
    ("scope im", _scope_im, False),
    ("administrator", _administrator, False),
    ("clock", _clock, False),
    ("event bindings", _bindings, True),
    ("last event", _last_event, False),
    ("dead letters", _dead_letters, False),
    ("rules tripped", _tripped, False),
)
WEBHOOK_PORTAL_CHECKS: tuple[Check, ...] = tuple((n, c) for n, c, app in _PORTAL_CHECKS if not app)
INSTALLED_PORTAL_CHECKS: tuple[Check, ...] = tuple((n, c) for n, c, _ in _PORTAL_CHECKS)

"""`b24rules doctor`: everything a deployment needs, checked one by one, each failure with its fix.

A registry of small checks in order; each reads what it needs from a shared `Findings` (settings,
database, portal answers), so the portal is asked once. A check whose prerequisite failed is skipped
(and counts as not passed). No check raises: an unexpected error is that check's failure, in one line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from service.bitrix.portal import PortalGateway
from service.core.bitrix import BitrixError, Reply
from service.core.bitrix.rights import ADMIN_FIX, SCOPE_FIX
from service.core.redaction import Redactor, webhook_secrets
from service.core.ruletests import run_inline_tests
from service.plumbing.rulesource import RulesDirError, portal_folders, read_rule_layers
from service.plumbing.settings import ConfigError, Settings, load_settings
from service.store.breakers import Breakers
from service.store.eventlog import events
from service.store.journal import Journal
from service.store.schema import MIGRATIONS, current_version

MAX_SKEW = timedelta(seconds=60)


def make_url_host(url: str | None) -> str:
    return urlsplit(url or "").hostname or "the portal"


QUIET_WARNING = timedelta(days=7)


@dataclass(frozen=True)
class Result:
    name: str
    status: str  # "pass" | "fail" | "skip"
    detail: str
    fix: str = ""


class Skip(Exception):
    """A prerequisite failed; the message names it."""


class Fail(Exception):
    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.fix = fix


@dataclass
class Findings:
    """What the checks found so far; later checks read what earlier ones stored."""

    make_gateway: Callable[[Settings, Engine], PortalGateway]
    clock: Callable[[], datetime]
    settings: Settings | None = None
    engine: Engine | None = None
    gateway: PortalGateway | None = None
    rights: Mapping[str, Reply | BitrixError] = field(default_factory=dict)
    redactor: Redactor = field(default_factory=Redactor)

    def need(self, attribute: str, prerequisite: str) -> Any:
        value = getattr(self, attribute)
        if value is None or value == {}:
            raise Skip(f"skipped: {prerequisite} failed")
        return value


def _settings(found: Findings) -> str:
    try:
        settings = load_settings()
        if not settings.app_mode:
            settings.require_webhook()
    except ConfigError as error:
        raise Fail(str(error), "set the variables named above (docs/deploy.md, Settings)") from None
    found.settings = settings
    found.redactor = Redactor(webhook_secrets(settings.webhook_url))
    return "valid (application mode)" if settings.app_mode else "valid"


def _database(found: Findings) -> str:
    settings: Settings = found.need("settings", "settings")
    url = make_url(settings.b24_database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        raise Fail(f"no database file at {url.database}", "check B24_DATABASE_URL, or start `b24rules serve`")
    from service.store.db import make_engine

    engine = make_engine(settings.b24_database_url)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    version, latest = current_version(engine), MIGRATIONS[-1].version
    if version != latest:
        raise Fail(f"schema version {version}, this release needs {latest}", "start `b24rules serve` once")
    found.engine = engine
    return f"{engine.dialect.name}, schema version {version}"


def _portal(found: Findings) -> str:
    settings: Settings = found.need("settings", "settings")
    engine: Engine = found.need("engine", "database")
    if settings.app_mode:
        raise Skip("skipped: application mode (check each portal with `b24rules portals --check`)")
    found.gateway = found.make_gateway(settings, engine)
    try:
        found.rights = found.gateway.ask_rights()
    except BitrixError as error:
        fix = "check B24_WEBHOOK_URL's host and that this machine can reach it over HTTPS"
        if error.status == 401:
            fix = "the webhook is not accepted: copy the incoming webhook's URL again into B24_WEBHOOK_URL"
        raise Fail(error.headline, fix) from None
    return f"{make_url_host(settings.webhook_url)} answers"


def _credentials(found: Findings) -> str:
    profile = found.need("rights", "portal")["profile"]
    if isinstance(profile, BitrixError):
        raise Fail(profile.headline, "copy the incoming webhook's URL again into B24_WEBHOOK_URL")
    user = profile.result if isinstance(profile.result, dict) else {}
    return f"the webhook acts as user {user.get('ID', '?')} {user.get('NAME', '')}".rstrip()


def _scope(found: Findings) -> str:
    answers = found.need("rights", "portal")
    scopes = answers["scope"]
    granted = scopes.result if isinstance(scopes, Reply) and isinstance(scopes.result, list) else []
    if "task" not in granted or isinstance(answers["tasks"], BitrixError):
        raise Fail(f"scopes: {', '.join(map(str, granted)) or 'none'}", SCOPE_FIX)
    return "task"


def _administrator(found: Findings) -> str:
    profile = found.need("rights", "portal")["profile"]
    user = profile.result if isinstance(profile, Reply) and isinstance(profile.result, dict) else {}
    if user.get("ADMIN") is not True:
        raise Fail(f"user {user.get('ID', '?')} is not a Bitrix24 administrator", ADMIN_FIX)
    return f"user {user.get('ID')} is an administrator"


def _clock(found: Findings) -> str:
    gateway: PortalGateway = found.need("gateway", "portal")
    skew = gateway.server_time() - found.clock()
    if abs(skew) > MAX_SKEW:
        fix = "synchronise this machine's clock (NTP); rules on dates and the sweep need the two to agree"
        raise Fail(f"this machine's clock is {-skew.total_seconds():+.0f} s off the portal's", fix)
    return f"{-skew.total_seconds():+.0f} s against the portal"


def _rules(found: Findings) -> str:
    """The shared rule set, and each portal folder's effective set (`rules/portals/<portal>/`)."""
    settings: Settings = found.need("settings", "settings")
    folder = settings.b24_rules_dir
    try:
        portals = portal_folders(folder)
        shared = _rule_set(folder, (), "")
        for portal in portals:
            _rule_set(folder, (portal.name,), f"portal folder {portal.name}: ")
    except RulesDirError as error:
        raise Fail(str(error), "check B24_RULES_DIR") from None
    also = f"; {len(portals)} portal folder(s) load and pass too" if portals else ""
    return f"{shared} rule(s), inline tests pass{also}"


def _rule_set(folder: Path, portal: tuple[str, ...], where: str) -> int:
    from service.core.layering import load_layered

    loaded = load_layered(*read_rule_layers(folder, portal))
    if loaded.ruleset is None or loaded.problems:
        first = str(loaded.problems[0]) if loaded.problems else "no rule set"
        fix = "run `b24rules check` and fix them"
        raise Fail(f"{where}{len(loaded.problems)} problem(s), first: {first}", fix)
    failed = [t for t in run_inline_tests(loaded.ruleset) if not t.passed]
    if failed:
        message = f"{where}{len(failed)} inline test(s) fail, first: {failed[0].rule}"
        raise Fail(message, "run `b24rules test`")
    return len(loaded.ruleset.rules)


def _last_event(found: Findings) -> str:
    engine: Engine = found.need("engine", "database")
    with engine.connect() as connection:
        newest = connection.scalar(select(func.max(events.c.received_at)))
    if newest is None:
        return "none received yet"
    age = found.clock() - newest
    if age > QUIET_WARNING:
        fix = "check the outgoing webhook's handler URL (…/bitrix24/events) and that it is reachable"
        raise Fail(f"the last event arrived {newest.isoformat(timespec='seconds')}, {age.days} days ago", fix)
    return f"{newest.isoformat(timespec='seconds')} ({int(age.total_seconds())} s ago)"


def _dead_letters(found: Findings) -> str:
    engine: Engine = found.need("engine", "database")
    dead = Journal(engine).stats(found.clock()).dead
    if dead:
        fix = "see them with `b24rules dead-letters`, fix the cause, retry with `b24rules replay --failed`"
        raise Fail(f"{dead} event(s) waiting as dead letters", fix)
    return "none"


def _tripped(found: Findings) -> str:
    engine: Engine = found.need("engine", "database")
    tripped = Breakers(engine).tripped()
    if tripped:
        fix = "review `b24rules audit --outcome tripped`, then `b24rules rearm RULE`"
        raise Fail(f"tripped to shadow: {', '.join(tripped)}", fix)
    return "none"


CHECKS: tuple[tuple[str, Callable[[Findings], str]], ...] = (
    ("settings", _settings),
    ("database", _database),
    ("portal reachable", _portal),
    ("credentials", _credentials),
    ("scope task", _scope),
    ("administrator", _administrator),
    ("clock", _clock),
    ("rules", _rules),
    ("last event", _last_event),
    ("dead letters", _dead_letters),
    ("rules tripped", _tripped),
)


def run_checks(found: Findings) -> list[Result]:
    results = []
    for name, check in CHECKS:
        try:
            results.append(Result(name, "pass", check(found)))
        except Skip as skipped:
            results.append(Result(name, "skip", str(skipped)))
        except Fail as failed:
            results.append(Result(name, "fail", found.redactor.text(str(failed)), failed.fix))
        except Exception as error:  # never a traceback: the check failed, say how in one line
            line = (str(error).strip().splitlines() or [""])[0]
            detail = found.redactor.text(f"{type(error).__name__}: {line}")
            results.append(Result(name, "fail", detail, "see the message; docs/operations.md (doctor)"))
    if found.engine is not None:
        found.engine.dispose()
    return results

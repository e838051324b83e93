"""`b24rules doctor`: everything a deployment needs, checked one by one, each failure with its fix.

A registry of small checks in order (`checkup.Findings` carries what earlier ones found, so the portal is
asked once). First the deployment (settings, database, rules); then the portal: the webhook portal, or in
application mode every installed portal (or the one `--portal` names), each in its own section with its
own answers and rows (`doctorportal.py`). A check whose prerequisite failed is skipped (and counts as not
passed). No check raises: an unexpected error is that check's failure, in one line.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from service.core.redaction import Redactor, webhook_secrets
from service.core.ruletests import run_inline_tests
from service.operations.checkup import Fail, Findings, InstalledPortals, Result, Section, Skip
from service.operations.doctorportal import INSTALLED_PORTAL_CHECKS, WEBHOOK_PORTAL_CHECKS, Check
from service.plumbing.rulesource import RulesDirError, portal_folders, read_rule_layers
from service.plumbing.settings import ConfigError, load_settings
from service.store.schema import MIGRATIONS, current_version

WEBHOOK_ONLY = "--portal is for application mode (B24_APP_CLIENT_ID); webhook mode has one portal"


def _settings(found: Findings) -> str:
    try:
        settings = load_settings()
        if not settings.app_mode:
            settings.require_webhook()
    except ConfigError as error:
        raise Fail(str(error), "set the variables named above (docs/deploy.md, Settings)") from None
    if found.portal_key and not settings.app_mode:
        raise Fail(WEBHOOK_ONLY, "run `b24rules doctor` without --portal")
    found.settings = settings
    found.redactor = Redactor(webhook_secrets(settings.webhook_url))
    return "valid (application mode)" if settings.app_mode else "valid"


def _database(found: Findings) -> str:
    settings = found.need("settings", "settings")
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


def _rules(found: Findings) -> str:
    """The shared rule set, and each portal folder's effective set (`rules/portals/<portal>/`)."""
    settings = found.need("settings", "settings")
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


def _portals(found: Findings) -> str:
    """Application mode: which installed portals the sections below check."""
    settings = found.need("settings", "settings")
    engine = found.need("engine", "database")
    assert found.open_portals is not None
    installed = found.open_portals(settings, engine)
    try:
        chosen = installed.chosen(found.portal_key)
    except ValueError as error:
        raise Fail(str(error), "see `b24rules portals`; install the application (docs/deploy.md)") from None
    found.installed = installed
    found.chosen = chosen
    return f"{len(chosen)} installed portal(s): {', '.join(p.domain for p in chosen)}"


DEPLOYMENT_CHECKS: tuple[Check, ...] = (
    ("settings", _settings),
    ("database", _database),
    ("rules", _rules),
)


def run_checks(found: Findings) -> list[Section]:
    """The deployment's section, then one per portal checked (application mode); the webhook portal's
    checks join the deployment's section."""
    deployment = _run(DEPLOYMENT_CHECKS, found)
    sections = [Section("", deployment)]
    try:
        if found.settings is None or not found.settings.app_mode or found.open_portals is None:
            deployment.extend(_run(WEBHOOK_PORTAL_CHECKS, found))
            return sections
        deployment.extend(_run((("portals", _portals),), found))
        installed: InstalledPortals | None = found.installed
        for record in found.chosen if installed else []:
            portal = replace(found, portal=record, active=None, gateway=None, rights={})
            sections.append(
                Section(f"portal {record.domain} ({record.member_id})", _run(INSTALLED_PORTAL_CHECKS, portal))
            )
        return sections
    finally:
        if found.engine is not None:
            found.engine.dispose()


def _run(checks: tuple[Check, ...], found: Findings) -> list[Result]:
    results = []
    for name, check in checks:
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
    return results

"""The process's resources, built once per entry point: settings → logging, Sentry, database, rules.

Only the composition root (`service/assembly/wiring.py`) and the commands hold this; every component
is handed the pieces it uses, so nothing is configured at import time and nothing reaches into a bag.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine

from service.core.redaction import Redactor
from service.plumbing import metrics
from service.plumbing.logs import configure_logging
from service.plumbing.portalrules import PortalRules
from service.plumbing.rulesource import RuleSource
from service.plumbing.sentry import capture_failure, init_sentry
from service.plumbing.settings import Settings
from service.store.db import open_database, open_existing_database
from service.store.journal import Journal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resources:
    settings: Settings
    engine: Engine
    journal: Journal
    rules: RuleSource  # the shared folder's set: the webhook portal's, and every portal's base
    redactor: Redactor
    portal_rules: PortalRules  # application mode: each installed portal's effective set


def make_redactor(settings: Settings) -> Redactor:
    return Redactor(settings.secret_values())


def build_resources(
    settings: Settings,
    *,
    component: str,
    configure: bool = True,
    read_only: bool = False,
    existing: bool = False,
) -> Resources:
    """`read_only`: the database must exist already and is neither created nor migrated (for commands
    that only read, run from any folder: `audit`, `dead-letters`, `simulate`, `diff`). `existing`: it
    must exist already, and is migrated (commands that act on what is stored: `restore`, `rearm`,
    `replay`)."""
    redactor = make_redactor(settings)
    if configure:
        if component == "cli":
            # A command prints its own results; only warnings and errors go to stderr, for people.
            level = "DEBUG" if settings.b24_log_level == "DEBUG" else "WARNING"
            configure_logging("text", level, redactor)
        else:
            configure_logging(settings.b24_log_format, settings.b24_log_level, redactor)
        init_sentry(
            settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None,
            redactor=redactor,
            component=component,
            environment=settings.sentry_environment,
            release=settings.sentry_release,
            traces_sample_rate=settings.sentry_traces_sample_rate,
        )
    url = settings.b24_database_url
    engine = open_existing_database(url) if read_only else open_database(url, existing=existing)

    def report_rule_problems(portal: str, problems: tuple[str, ...]) -> None:
        metrics.RULE_RELOADS.labels(result="refused").inc()
        # Every process reads the rules, but one broken set is one Sentry event (per portal): only
        # workers (the processes that run the rules) report it; web processes log it and show it in
        # /readyz.
        if component == "worker":
            tags = {"kind": "rules", **({"portal": portal} if portal else {})}
            capture_failure(
                "rule files refused; the last good set keeps running", tags, problems=list(problems[:50])
            )

    folder = settings.b24_rules_dir
    rules = RuleSource(folder, on_problems=lambda problems: report_rule_problems("", problems))
    rules.refresh()
    return Resources(
        settings=settings,
        engine=engine,
        journal=Journal(engine),
        rules=rules,
        redactor=redactor,
        portal_rules=PortalRules(folder, report_rule_problems),
    )

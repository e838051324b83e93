"""The shared set-up of every entry point: settings → logging, Sentry, database, rules.

Built once per process by the CLI (or a test) and handed to the web app and the worker, so nothing
is configured at import time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from service import metrics
from service.config import Settings
from service.core.redaction import Redactor, webhook_secrets
from service.logs import configure_logging
from service.rulesource import RuleSource
from service.sentry import capture_failure, init_sentry
from service.store.db import open_database
from service.store.journal import Journal

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    journal: Journal
    rules: RuleSource
    redactor: Redactor

    def database_reachable(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def database_label(self) -> str:
        """The database URL without its password, for logs and /readyz."""
        return make_url(self.settings.b24_database_url).render_as_string(hide_password=True)


def make_redactor(settings: Settings) -> Redactor:
    secrets = webhook_secrets(settings.webhook_url)
    secrets.append(settings.application_token or "")
    if settings.sentry_dsn is not None:
        secrets.append(settings.sentry_dsn.get_secret_value())
    return Redactor(secrets)


def build_runtime(settings: Settings, *, component: str, configure: bool = True) -> Runtime:
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
    engine = open_database(settings.b24_database_url)

    def report_rule_problems(problems: tuple[str, ...]) -> None:
        metrics.RULE_RELOADS.labels(result="refused").inc()
        # Every process reads the rules, but one broken set is one Sentry event: only workers (the
        # processes that run the rules) report it; web processes log it and show it in /readyz.
        if component == "worker":
            capture_failure(
                "rule files refused; the last good set keeps running",
                {"kind": "rules"},
                problems=list(problems[:50]),
            )

    rules = RuleSource(settings.b24_rules_dir, on_problems=report_rule_problems)
    rules.refresh()
    return Runtime(settings=settings, engine=engine, journal=Journal(engine), rules=rules, redactor=redactor)

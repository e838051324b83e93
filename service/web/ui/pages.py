"""The status page's read-only pages: Overview, Activity, Audit, Rules and the operator action log.

Each page is a handful of indexed, LIMITed queries (store/insight.py, the audit log, the journal) and a
template; paging goes by id (`before=`), so no page counts or skips through the whole table.
"""

from __future__ import annotations

import logging

from flask import render_template, request

from service.core.rules import RuleSet
from service.core.ruletests import InlineTestResult, run_inline_tests
from service.plumbing.clock import utcnow
from service.store.audit import DRAFT_OUTCOMES, FINAL_OUTCOMES, RESTORE_STATES
from service.store.eventlog import SOURCES, STATUSES
from service.store.insight import EventFilter
from service.web.ui.access import operator
from service.web.ui.chart import hourly_chart
from service.web.ui.filters import Fields
from service.web.ui.parts import PortalView, UiParts, ui_parts
from service.web.ui.scope import current_view

log = logging.getLogger(__name__)

PAGE = 50
AUDIT_PAGE = 25  # a record is a card with its entry and trace: 25 keep the page light
DEAD_LETTERS_SHOWN = 20
SHOWN_OUTCOMES = (*DRAFT_OUTCOMES, *FINAL_OUTCOMES, *RESTORE_STATES)
EVENT_NAMES = ("ONTASKUPDATE", "ONTASKADD")


def readiness(parts: UiParts, view: PortalView) -> tuple[bool, list[str]]:
    """Ready or not, and why, in the words /readyz uses (rules running, database reachable): the rules
    are the shown portal's effective set (application mode: the shared folder and its own)."""
    rules = view.rules.status()
    database_ok = parts.database_reachable()
    why = []
    if rules.version is None:
        why.append("no rule set is running: the rule files never loaded")
    elif rules.ok:
        why.append(f"{rules.rules} rule(s) running, rule set {rules.version}")
    else:
        why.append(f"the rule files on disk were refused; the last good set {rules.version} keeps running")
    why.append(f"database ({parts.backend}) " + ("reachable" if database_ok else "NOT reachable"))
    if parts.dry_run:
        why.append("B24_DRY_RUN is on: rules record what they would delete and delete nothing")
    return rules.version is not None and database_ok, why


def overview() -> str:
    parts, view = ui_parts(), current_view()
    now = utcnow()
    ready, why = readiness(parts, view)
    window = view.insight.window(now)
    return render_template(
        "overview.html",
        ready=ready,
        why=why,
        rules=view.rules.status(),
        tripped=view.breakers.tripped(),
        queue=view.journal.stats(now),
        dead=view.journal.newest_dead(DEAD_LETTERS_SHOWN),
        last_event=view.insight.last_event_at(),
        chart=hourly_chart(window.hours),
        hits=window.hits,
        now=now,
    )


def activity() -> str:
    view = current_view()
    now = utcnow()
    fields = Fields(request.args)
    wanted = EventFilter(
        task_id=fields.number("task", "task"),
        status=fields.choice("outcome", "outcome", STATUSES),
        source=fields.choice("source", "source", SOURCES),
        rule=fields.text("rule"),
        since=fields.moment("since", "since", now),
        until=fields.moment("until", "until", now),
        before=fields.number("before", "page"),
    )
    found = view.insight.events(wanted, limit=PAGE + 1)
    return render_template(
        "activity.html",
        events=found[:PAGE],
        more=found[PAGE - 1].id if len(found) > PAGE else None,
        sweeps=view.insight.sweeps(),
        problems=fields.problems,
        statuses=STATUSES,
        sources=SOURCES,
        args=request.args,
        now=now,
    )


def audit() -> str:
    now = utcnow()
    fields = Fields(request.args)
    view = current_view()
    found = view.audit.query(
        task_id=fields.number("task", "task"),
        rule=fields.text("rule"),
        since=fields.moment("since", "since", now),
        outcome=fields.choice("outcome", "outcome", SHOWN_OUTCOMES),
        before=fields.number("before", "page"),
        limit=AUDIT_PAGE + 1,
        portal=view.portal,
    )
    return render_template(
        "audit.html",
        records=found[:AUDIT_PAGE],
        more=found[AUDIT_PAGE - 1].id if len(found) > AUDIT_PAGE else None,
        problems=fields.problems,
        outcomes=SHOWN_OUTCOMES,
        args=request.args,
        now=now,
    )


def rules_page(report: str = "", problem: str = "", task: str = "", event: str = "") -> str:
    view = current_view()
    ruleset = view.rules.current()
    return render_template(
        "rules.html",
        status=view.rules.status(),
        ruleset=ruleset,
        results=_inline_results(ruleset),
        tripped=view.breakers.tripped(),
        events=EVENT_NAMES,
        report=report,
        problem=problem,
        task=task,
        event=event or EVENT_NAMES[0],
    )


def simulate() -> str:
    """Read-only, but it calls the portal: a POST (CSRF-checked) so no link or prefetch can start it."""
    parts = ui_parts()
    fields = Fields(request.form)
    task = fields.number("task", "task id")
    event = fields.choice("event", "event", EVENT_NAMES) or EVENT_NAMES[0]
    if task is None:
        problem = "; ".join(fields.problems) or "type a task id"
        return rules_page(problem=problem, task=request.form.get("task", ""), event=event)
    try:
        report = parts.simulate(current_view().portal, task, event)
    except Exception as error:  # the portal, the settings, the rules: say what failed, never a 500
        log.warning("simulate from the status page failed", extra={"task_id": task, "by": operator().label})
        return rules_page(problem=parts.redactor.text(f"{error}"), task=str(task), event=event)
    return rules_page(report=report, task=str(task), event=event)


def operator_actions() -> str:
    parts = ui_parts()
    fields = Fields(request.args)
    actions = parts.actions.for_portal(current_view().portal)
    found = actions.recent(limit=PAGE + 1, before=fields.number("before", "page"))
    return render_template(
        "actions.html",
        actions=found[:PAGE],
        more=found[PAGE - 1].id if len(found) > PAGE else None,
        problems=fields.problems,
    )


_results_cache: dict[str, dict[str, list[InlineTestResult]]] = {}
RESULTS_KEPT = 64


def _inline_results(ruleset: RuleSet | None) -> dict[str, list[InlineTestResult]]:
    """Each rule's inline test results; run once per rule set version (the tests are pure)."""
    if ruleset is None:
        return {}
    cached = _results_cache.get(ruleset.version)
    if cached is None:
        cached = {}
        for result in run_inline_tests(ruleset):
            cached.setdefault(result.rule, []).append(result)
        if len(_results_cache) >= RESULTS_KEPT:  # the running sets' results (one per portal) are kept
            _results_cache.clear()
        _results_cache[ruleset.version] = cached
    return cached

"""Operating commands: sweep, audit, restore, rearm, replay."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from service.commands.common import (
    chosen_listing,
    chosen_portal,
    one_line_failure,
    parse_since,
    portal_option,
    resources_for,
    settings_or_exit,
)
from service.operations.listing import columns
from service.plumbing.clock import utcnow

# What `audit` shows: the decision's outcome, or the restore state of a deleted record.
OUTCOMES = (
    *("pending", "unconfirmed", "refused", "deleted", "gone", "failed", "shadow", "dry-run", "tripped"),
    "skipped",
    *("restoring", "restored"),
)
COMMENT_WIDTH = 30
RULE_WIDTH = 32


@click.command()
@click.option(
    "--since", default=None, help="Look back this far (2h, 7d, or an ISO date-time) instead of the watermark."
)
@portal_option
def sweep(since: str | None, portal_key: str | None) -> None:
    """Run one reconciliation pass now: enqueue every task the portal changed since the watermark, and
    every task that got a time entry since the last sweep (adding an entry sends no event)."""
    from service.assembly.operator import scope_gateway
    from service.assembly.wiring import make_sweeper
    from service.pipeline.worker import worker_name

    resources = resources_for(settings_or_exit(), "cli")
    now = utcnow()
    start = parse_since(since, now)
    scope = chosen_portal(resources, portal_key)
    with one_line_failure("sweep", resources.redactor):
        gateway = scope_gateway(resources, scope)
        sweeper = make_sweeper(resources, gateway, owner=worker_name(), portal=scope.member_id)
        report = sweeper.run_once(now, since=start)
    if report is None:
        raise click.ClickException("another sweeper is running right now; try again in a moment")
    watermark = report.watermark.isoformat() if report.watermark else "none"
    entries = "none" if report.entry_watermark is None else report.entry_watermark
    click.echo(
        f"enqueued {report.tasks} task(s) for evaluation; watermark {watermark}; entries after id {entries}"
    )


@click.command()
@click.option("--task", "task_id", type=int, default=None)
@click.option("--rule", default=None)
@click.option("--since", default=None, help="2h, 7d, or an ISO date-time.")
@click.option("--outcome", type=click.Choice(OUTCOMES), default=None)
@click.option("--limit", type=int, default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, for scripts.")
@click.option(
    "--notifications",
    is_flag=True,
    help="The messages rules with `notify` sent (or would have sent) instead.",
)
@portal_option
def audit(
    task_id: int | None,
    rule: str | None,
    since: str | None,
    outcome: str | None,
    limit: int,
    as_json: bool,
    notifications: bool,
    portal_key: str | None,
) -> None:
    """What was deleted (or would have been, in shadow or dry-run), by which rule, when, and why.
    Application mode without --portal: every portal's records, with a PORTAL column."""
    from service.store.audit import AuditLog

    resources = resources_for(settings_or_exit(), "cli", read_only=True)
    portal, domains = _listing(resources, portal_key)
    start = parse_since(since, utcnow())
    if notifications:
        from service.commands.notices import show_notices

        click.echo(show_notices(resources.engine, task_id, rule, start, limit, as_json, portal, domains))
        return
    records = AuditLog(resources.engine).query(
        task_id=task_id, rule=rule, since=start, outcome=outcome, limit=limit, portal=portal
    )
    if as_json:
        for record in records:
            click.echo(json.dumps(record_dict(record), default=_json_value, ensure_ascii=False))
        return
    click.echo(audit_table(records, domains))


def _listing(resources: Any, portal_key: str | None) -> tuple[str | None, dict[str, str] | None]:
    """(the portal whose rows to list, None for all; member id → domain for a PORTAL column, or None
    when the listing has one portal)."""
    from service.assembly.operator import portal_domains

    scope = chosen_listing(resources, portal_key)
    if scope is None:
        return None, portal_domains(resources)
    return (scope.member_id or None), None


def record_dict(record: Any) -> dict[str, Any]:
    fields = getattr(record, "__dataclass_fields__", {})
    return {name: getattr(record, name) for name in fields}


def _json_value(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def audit_table(records: list[Any], domains: dict[str, str] | None = None) -> str:
    """One line per record; long rule names and comments are cut so a line stays readable. `domains`
    (member id → domain): a PORTAL column, for a listing of several portals."""
    if not records:
        return "no audit records match"
    header = ("ID", "WHEN (UTC)", "TASK", "ENTRY", "RULE", "OUTCOME", "SECONDS", "USER", "COMMENT")
    rows = []
    for r in records:
        entry = r.entry or {}
        rows.append((
            str(r.id), r.created_at.strftime("%Y-%m-%d %H:%M:%S"), str(r.task_id), str(r.item_id),
            _cut(r.rule, RULE_WIDTH), r.shown_outcome, str(entry.get("SECONDS", "")),
            str(entry.get("USER_ID", "")), _cut(str(entry.get("COMMENT_TEXT") or ""), COMMENT_WIDTH),
        ))  # fmt: skip
    return "\n".join(columns(header, rows, [r.portal for r in records], domains))


def _cut(text: str, width: int) -> str:
    """One line (a comment may hold newlines and tabs) of at most `width` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


@click.command()
@click.argument("audit_ids", nargs=-1, type=int)
@click.option("--rule", default=None, help="Restore everything this rule deleted (with --since).")
@click.option("--since", default=None, help="With --rule: deleted within this period (2h, 7d, ISO).")
@click.option(
    "--force",
    is_flag=True,
    help="Retry records an interrupted restore left 'restoring' (check first that the entry is not back).",
)
@portal_option
def restore(
    audit_ids: tuple[int, ...], rule: str | None, since: str | None, force: bool, portal_key: str | None
) -> None:
    """Re-create deleted entries with task.elapseditem.add from their audit records (idempotent)."""
    from service.assembly.operator import scope_gateway
    from service.operations.restoration import restore_entries
    from service.store.audit import AuditLog

    if not audit_ids and not rule:
        raise click.UsageError("give AUDIT_IDs, or --rule NAME [--since 2h]")
    resources = resources_for(settings_or_exit(), "cli", existing=True)
    start = parse_since(since, utcnow())
    scope = chosen_portal(resources, portal_key)
    with one_line_failure("restore", resources.redactor):
        results = restore_entries(
            AuditLog(resources.engine, scope.member_id),
            lambda: scope_gateway(resources, scope),
            resources.redactor,
            audit_ids,
            rule=rule,
            since=start,
            force=force,
        )
    failed = 0
    for line, ok in results:
        click.echo(line)
        failed += not ok
    if not results:
        click.echo("nothing to restore")
    if failed:
        raise SystemExit(1)


@click.command()
@click.argument("rule")
@portal_option
def rearm(rule: str, portal_key: str | None) -> None:
    """Put a rule tripped by the circuit breaker back to enforcing (on one portal)."""
    from service.assembly.operator import scope_rules
    from service.store.breakers import Breakers

    resources = resources_for(settings_or_exit(), "cli", existing=True)
    scope = chosen_portal(resources, portal_key)
    on = f" on {scope.domain}" if scope.domain else ""
    if Breakers(resources.engine, scope.member_id).rearm(rule):
        click.echo(f"rule '{rule}' rearmed{on}: it enforces again")
        return
    rules = scope_rules(resources, scope)
    ruleset = rules.current()
    if ruleset is None or rule not in {known.name for known in ruleset.rules}:
        raise click.ClickException(f"no rule named '{rule}' in {rules.directory}{on}, and none tripped")
    click.echo(f"rule '{rule}' was not tripped{on}")


@click.command()
@click.argument("event_ids", nargs=-1, type=int)
@click.option("--failed", is_flag=True, help="Re-process every dead-letter event.")
@portal_option
def replay(event_ids: tuple[int, ...], failed: bool, portal_key: str | None) -> None:
    """Re-process stored events (e.g. after fixing a rule): they are queued again for the workers."""
    if not event_ids and not failed:
        raise click.UsageError("give EVENT_IDs or --failed")
    resources = resources_for(settings_or_exit(), "cli", existing=True)
    scope = chosen_portal(resources, portal_key)
    journal = resources.journal.for_portal(scope.member_id)
    unknown = [event_id for event_id in event_ids if journal.get(event_id) is None]
    if unknown:  # asked for something that is not there: say so, and queue none of them
        where = f" of {scope.domain}" if scope.domain else ""
        ids = ", ".join(map(str, unknown))
        raise click.ClickException(f"no stored event{where} with id {ids}; nothing queued")
    count = journal.replay(list(event_ids) or None, failed=failed, now=utcnow())
    click.echo(f"queued {count} event(s) again")


@click.command("dead-letters")
@click.option("--task", "task_id", type=int, default=None, help="Only this task's dead letters.")
@portal_option
def dead_letters(task_id: int | None, portal_key: str | None) -> None:
    """The events the worker gave up on, per task: event ids, attempts, and the last error (method, code,
    HTTP status). Read-only; `b24rules replay --failed` queues them again once the cause is fixed.
    Application mode without --portal: every portal's, with a PORTAL column."""
    from service.operations.deadletters import dead_letters as listed
    from service.operations.deadletters import table

    resources = resources_for(settings_or_exit(), "cli", read_only=True)
    portal, domains = _listing(resources, portal_key)
    click.echo(table(listed(resources.journal.for_portal(portal or ""), task_id), domains))


COMMANDS = (sweep, audit, restore, rearm, replay, dead_letters)

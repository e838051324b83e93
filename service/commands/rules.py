"""Commands about rules: check (validate), test (inline tests), simulate (read-only, on a live task), diff
(read-only: what a rule change would change)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from service.commands.common import (
    chosen_portal,
    parse_since,
    portal_option,
    resources_for,
    settings_or_exit,
)
from service.core.digits import ascii_int
from service.core.layering import load_layered, overridden
from service.core.loader import LoadResult, load_ruleset
from service.core.rules import RuleSet
from service.core.ruletests import failed_tests
from service.plumbing.clock import utcnow
from service.plumbing.rulesource import RulesDirError, portal_folders, read_rule_files, read_rule_layers
from service.plumbing.settings import ConfigError
from service.store.activity import DEFAULT_EVENT, active_tasks

if TYPE_CHECKING:
    from service.assembly.operator import PortalScope
    from service.assembly.resources import Resources
    from service.operations.diff import DiffReport


def _load(directory: Path, portal: tuple[str, ...] = ()) -> LoadResult:
    """The folder's rule set; with `portal` (a portal folder's name, or a portal's domain and member
    id), that portal's effective set: the shared files extended by `portals/<name>/`."""
    try:
        shared, own = read_rule_layers(directory, portal)
    except RulesDirError as error:
        raise click.ClickException(str(error)) from None
    return load_layered(shared, own)


def _rules_dir(directory: str | None) -> Path:
    if directory:
        return Path(directory)
    return settings_or_exit().b24_rules_dir


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def check(directory: str | None) -> None:
    """Validate the rule files in DIRECTORY (default B24_RULES_DIR) and in each portal folder under its
    portals/ (each with the shared files: the portal's effective set); exit 1 on any problem."""
    folder = _rules_dir(directory)
    problems = _checked(folder, _load(folder), None)
    for portal in portal_folders(folder):
        problems += _checked(portal, _load(folder, (portal.name,)), folder)
    if problems:
        click.echo(f"{problems} problem(s) in {folder}", err=True)
        raise SystemExit(1)


def _checked(folder: Path, result: LoadResult, shared: Path | None) -> int:
    """Print one folder's verdict; a portal folder's (`shared` given) lists only its own files' problems
    (the shared files' are printed once, for the shared folder). How many problems it printed."""
    own = [p for p in result.problems if shared is None or Path(p.file).is_relative_to(folder)]
    for problem in own:
        click.echo(str(problem), err=True)
    ruleset = result.ruleset
    if ruleset is None:
        if not own:
            click.echo(f"{folder}: not loaded (the shared files have problems)", err=True)
        return len(own)
    if shared is None:
        click.echo(
            f"{folder}: {len(ruleset.rules)} rule(s) in {len(ruleset.files)} file(s), no problems "
            f"(version {ruleset.version})"
        )
        return 0
    base = load_ruleset(read_rule_files(shared)).ruleset
    mine = sum(Path(rule.file).is_relative_to(folder) for rule in ruleset.rules)
    replaced = overridden(base, ruleset) if base else ()
    over = f", overriding {', '.join(replaced)}" if replaced else ""
    click.echo(
        f"{folder}: {mine} rule(s) of its own{over}; with the shared ones {len(ruleset.rules)} rule(s), "
        f"no problems (version {ruleset.version})"
    )
    return 0


@click.command(name="test")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def test_rules(directory: str | None) -> None:
    """Run the inline `tests:` of the rule files (offline: no portal), those of each portal folder's own
    files within that portal's effective set; exit 1 on any failure."""
    folder = _rules_dir(directory)
    results = _run_tests(folder, _load(folder), "")
    for portal in portal_folders(folder):
        results += _run_tests(portal, _load(folder, (portal.name,)), f"{portal.name}/")
    failed = sum(not passed for passed in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise SystemExit(1)


def _run_tests(folder: Path, result: LoadResult, prefix: str) -> list[bool]:
    """Print each inline test's verdict (a portal folder's own rules only, named `<portal>/<rule>`);
    a set that does not load is one failure."""
    from service.core.ruletests import run_inline_tests

    if result.ruleset is None:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        return [False]
    verdicts = []
    for item in run_inline_tests(result.ruleset):
        if prefix and not Path(item.file).is_relative_to(folder):
            continue  # a shared rule: tested once, with the shared folder
        if item.passed:
            click.echo(f"PASS {prefix}{item.rule}: {item.name}")
        else:
            click.echo(
                f"FAIL {prefix}{item.rule}: {item.name} ({item.position}): expected to delete "
                f"{list(item.expected)}, would delete {list(item.actual)}"
            )
        verdicts.append(item.passed)
    return verdicts


@click.command()
@click.option("--task", "task_id", type=int, required=True, help="The task to evaluate.")
@click.option("--event", "event_name", default="ONTASKUPDATE", show_default=True)
@click.option("--fresh", is_flag=True, help="Ignore the stored status snapshot; use the task's history.")
@portal_option
def simulate(task_id: int, event_name: str, fresh: bool, portal_key: str | None) -> None:
    """Read the task and its entries from the portal and show what each rule would delete, and why.

    Read-only: nothing is deleted, recorded or changed (not even the status snapshot).
    """
    from service.assembly.wiring import make_simulator

    resources = resources_for(settings_or_exit(), "cli", read_only=True, missing_ok=True)
    try:
        simulator = make_simulator(resources, portal_key)
        report = simulator.task(task_id, event_name.upper(), use_snapshot=not fresh)
    except Exception as error:
        raise click.ClickException(str(resources.redactor.text(str(error)))) from None
    click.echo(report)


# `diff --fail-over N` exits with this when the proposed set would newly delete more than N entries.
EXIT_OVER_THRESHOLD = 3


@click.command()
@click.argument("new_rules_dir", type=click.Path(file_okay=False))
@click.option("--since", default="7d", show_default=True, help="Tasks with events or deletions this recent.")
@click.option("--tasks", "task_list", multiple=True, help="Task ids (comma-separated or repeated) instead.")
@click.option("--from-audit", is_flag=True, help="Compare on the entries kept in the audit: no portal call.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
@click.option(
    "--fail-over",
    type=click.IntRange(min=0),
    default=None,
    help=f"Exit {EXIT_OVER_THRESHOLD} when more than this many entries would be newly deleted.",
)
@portal_option
def diff(
    new_rules_dir: str,
    since: str,
    task_list: tuple[str, ...],
    from_audit: bool,
    as_json: bool,
    fail_over: int | None,
    portal_key: str | None,
) -> None:
    """Show which entries the rules in NEW_RULES_DIR would delete, or spare, compared with the running set.

    Read-only. Per rule: entries newly deleted, no longer deleted, unchanged, with the conditions' reasons.
    With --portal: that portal's effective sets (NEW_RULES_DIR laid out like B24_RULES_DIR, its
    portals/<domain or member id>/ included), on that portal's tasks.
    """
    from service.assembly.operator import scope_rules
    from service.operations.diffreport import render_text, to_json

    task_ids = _task_ids(task_list)
    shared = _proposed(Path(new_rules_dir))  # broken rules are refused before anything else is opened
    # Read-only: where there is no database it says so instead of creating an empty one (which would
    # list no active task and report "0 task(s)"); given --tasks, the portal alone is enough.
    live_tasks = bool(task_ids) and not from_audit
    resources = resources_for(settings_or_exit(), "cli", read_only=True, missing_ok=live_tasks)
    scope = chosen_portal(resources, portal_key)
    proposed = _proposed(Path(new_rules_dir), (scope.domain, scope.member_id)) if scope.member_id else shared
    rules = scope_rules(resources, scope)
    running = rules.current()
    if running is None:
        problems = "; ".join(rules.status().problems[:5])
        raise click.ClickException(f"the running rules ({rules.directory}) do not load: {problems}")
    start = parse_since(since, utcnow())
    if start is None:
        raise click.BadParameter("give a window such as 7d", param_hint="--since")
    report = _compare(resources, scope, running, proposed, task_ids, start, from_audit)
    click.echo(
        json.dumps(to_json(report), default=str, ensure_ascii=False) if as_json else render_text(report)
    )
    if fail_over is not None and report.diff.newly_deleted > fail_over:
        click.echo(
            f"{report.diff.newly_deleted} entries would be newly deleted (more than {fail_over})", err=True
        )
        raise SystemExit(EXIT_OVER_THRESHOLD)


def _compare(
    resources: Resources,
    scope: PortalScope,
    running: RuleSet,
    proposed: RuleSet,
    task_ids: list[int],
    start: datetime,
    from_audit: bool,
) -> DiffReport:
    from service.assembly.wiring import make_differ
    from service.operations.diff import DiffError

    try:
        differ = make_differ(resources, scope, live=not from_audit)
        if from_audit:
            return differ.from_audit(running, proposed, None if task_ids else start, task_ids)
        tasks = (
            dict.fromkeys(task_ids, (DEFAULT_EVENT,))
            if task_ids
            else active_tasks(resources.engine, start, scope.member_id)
        )
        return differ.live(running, proposed, tasks)
    except (DiffError, ConfigError) as error:
        raise click.ClickException(resources.redactor.text(str(error))) from None
    except Exception as error:
        raise click.ClickException(resources.redactor.text(f"{type(error).__name__}: {error}")) from None


def _proposed(directory: Path, portal: tuple[str, ...] = ()) -> RuleSet:
    result = _load(directory, portal)
    if result.ruleset is None:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(
            f"{len(result.problems)} problem(s) in {directory}: fix them first (b24rules check)"
        )
    for failure in failed_tests(result.ruleset):
        click.echo(f"warning: {failure} (a running service refuses this set)", err=True)
    return result.ruleset


def _task_ids(values: tuple[str, ...]) -> list[int]:
    ids: list[int] = []
    for value in values:
        for part in value.replace(" ", "").split(","):
            task_id = ascii_int(part)
            if not task_id:
                raise click.BadParameter(f"{part!r} is not a task id", param_hint="--tasks")
            ids.append(task_id)
    return list(dict.fromkeys(ids))


COMMANDS = (check, test_rules, simulate, diff)

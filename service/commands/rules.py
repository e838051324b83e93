"""Commands about rules: check (validate), test (inline tests), simulate (read-only, on a live task)."""

from __future__ import annotations

from pathlib import Path

import click

from service.commands.common import resources_for, settings_or_exit
from service.core.loader import LoadResult, load_ruleset
from service.plumbing.rulesource import RulesDirError, read_rule_files


def _load(directory: Path) -> LoadResult:
    try:
        files = read_rule_files(directory)
    except RulesDirError as error:
        raise click.ClickException(str(error)) from None
    return load_ruleset(files)


def _rules_dir(directory: str | None) -> Path:
    if directory:
        return Path(directory)
    return settings_or_exit().b24_rules_dir


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def check(directory: str | None) -> None:
    """Validate the rule files in DIRECTORY (default B24_RULES_DIR); exit 1 on any problem."""
    folder = _rules_dir(directory)
    result = _load(folder)
    if result.problems or result.ruleset is None:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(result.problems)} problem(s) in {folder}", err=True)
        raise SystemExit(1)
    ruleset = result.ruleset
    click.echo(
        f"{folder}: {len(ruleset.rules)} rule(s) in {len(ruleset.files)} file(s), no problems "
        f"(version {ruleset.version})"
    )


@click.command(name="test")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def test_rules(directory: str | None) -> None:
    """Run the inline `tests:` of the rule files (offline: no portal); exit 1 on any failure."""
    from service.core.ruletests import run_inline_tests

    folder = _rules_dir(directory)
    result = _load(folder)
    if result.ruleset is None:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1)
    results = run_inline_tests(result.ruleset)
    for item in results:
        if item.passed:
            click.echo(f"PASS {item.rule}: {item.name}")
        else:
            click.echo(
                f"FAIL {item.rule}: {item.name} ({item.position}): expected to delete "
                f"{list(item.expected)}, would delete {list(item.actual)}"
            )
    failed = sum(not item.passed for item in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise SystemExit(1)


@click.command()
@click.option("--task", "task_id", type=int, required=True, help="The task to evaluate.")
@click.option("--event", "event_name", default="ONTASKUPDATE", show_default=True)
@click.option("--fresh", is_flag=True, help="Ignore the stored status snapshot; use the task's history.")
def simulate(task_id: int, event_name: str, fresh: bool) -> None:
    """Read the task and its entries from the portal and show what each rule would delete, and why.

    Read-only: nothing is deleted, recorded or changed (not even the status snapshot).
    """
    from service.assembly.wiring import make_simulator

    resources = resources_for(settings_or_exit(), "cli")
    try:
        report = make_simulator(resources).task(task_id, event_name.upper(), use_snapshot=not fresh)
    except Exception as error:
        raise click.ClickException(str(resources.redactor.text(str(error)))) from None
    click.echo(report)


COMMANDS = (check, test_rules, simulate)

"""`b24rules doctor`: a checklist of what a deployment needs, a fix for each failure; exit 0 if all pass."""

from __future__ import annotations

import click

from service.plumbing.clock import utcnow

MARK = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}


@click.command()
def doctor() -> None:
    """Check settings, database, portal (reachable, credentials, scope task, administrator, clock), rules
    and their tests, the last event, dead letters and tripped rules; print a fix for each failure."""
    from service.assembly.wiring import webhook_gateway
    from service.operations.doctor import Findings, run_checks

    results = run_checks(Findings(make_gateway=webhook_gateway, clock=utcnow))
    width = max(len(r.name) for r in results)
    for result in results:
        click.echo(f"{MARK[result.status]}  {result.name:<{width}}  {result.detail}")
        if result.fix:
            click.echo(f"      {'':<{width}}  fix: {result.fix}")
    failed = [r for r in results if r.status != "pass"]
    click.echo(f"{len(results) - len(failed)} of {len(results)} checks pass")
    if failed:
        raise SystemExit(1)


COMMANDS = (doctor,)

"""`b24rules doctor`: a checklist of what a deployment needs, a fix for each failure; exit 0 if all pass."""

from __future__ import annotations

import click

from service.commands.common import portal_option
from service.plumbing.clock import utcnow

MARK = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}


@click.command()
@portal_option
def doctor(portal_key: str | None) -> None:
    """Check settings, database, rules and their tests, then the portal (reachable, credentials, scope
    task, administrator, clock, the last event, dead letters, tripped rules); print a fix for each
    failure. Application mode: every installed portal (or --portal), each in its own section, with its
    installation and event bindings (event.get) too."""
    from service.assembly.doctoring import DoctorPortals
    from service.assembly.wiring import webhook_gateway
    from service.operations.checkup import Findings
    from service.operations.doctor import run_checks

    found = Findings(
        make_gateway=webhook_gateway, clock=utcnow, open_portals=DoctorPortals, portal_key=portal_key
    )
    sections = run_checks(found)
    results = [result for section in sections for result in section.results]
    width = max(len(r.name) for r in results)
    for section in sections:
        if section.title:
            click.echo(f"\n{section.title}")
        for result in section.results:
            click.echo(f"{MARK[result.status]}  {result.name:<{width}}  {result.detail}")
            if result.fix:
                click.echo(f"      {'':<{width}}  fix: {result.fix}")
    failed = [r for r in results if r.status != "pass"]
    portals = len(sections) - 1
    across = f" across {portals} portal(s)" if portals else ""
    click.echo(f"{len(results) - len(failed)} of {len(results)} checks pass{across}")
    if failed:
        raise SystemExit(1)


COMMANDS = (doctor,)

"""`b24rules portals`: the installed portals (application mode), their state and event bindings."""

from __future__ import annotations

import click

from service.commands.common import resources_for, settings_or_exit


@click.command()
@click.option(
    "--check", is_flag=True, help="Ask each active portal (event.get) whether our events are bound."
)
def portals(check: bool) -> None:
    """List the portals that installed b24rules: domain, member id, status, event binding, token expiry."""
    settings = settings_or_exit()
    if not settings.app_mode:
        raise click.ClickException("application mode is off: set B24_APP_CLIENT_ID and B24_APP_CLIENT_SECRET")
    resources = resources_for(settings, "cli")
    from service.assembly.application import make_application, portal_client

    try:
        app = make_application(resources)
    except Exception as error:  # a missing setting or a malformed key: one line, no traceback
        raise click.ClickException(f"configuration: {error}") from None
    records = app.portals.all()
    if not records:
        click.echo("no portal has installed b24rules yet")
        return
    for record in records:
        expires = record.expires_at.isoformat(timespec="seconds") if record.expires_at else "-"
        binding = record.binding + (f" ({record.binding_error})" if record.binding_error else "")
        line = f"{record.domain:<32} {record.member_id:<34} {record.status:<16} {binding:<10}"
        line += f" token until {expires}"
        if check and record.status == "active":
            client = portal_client(resources, app, record.client_endpoint, record.member_id, None)
            try:
                missing = app.subscriber.missing(client)
            except Exception as error:
                line += f"  check failed: {getattr(error, 'code', type(error).__name__)}"
            else:
                line += "  bindings ok" if not missing else f"  missing: {', '.join(missing)}"
        click.echo(line)


COMMANDS = (portals,)

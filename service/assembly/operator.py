"""Which portal an operator command acts on or reads: `--portal DOMAIN|MEMBER_ID`, resolved here once
for every command, and that portal's rules, gateway and stored data.

Webhook mode has one portal and refuses `--portal` (a flag that would be silently ignored could make an
operator believe they restored or replayed on the portal they named). Application mode: a command that
acts on one portal takes the named one, or the only one installed; with several and no `--portal` it
fails naming them. A listing (`audit`, `dead-letters`) without `--portal` shows every portal's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.assembly.application import (
    PortalChoiceError,
    choose_portal,
    domain_of,
    make_application,
    portal_gateway,
)
from service.assembly.resources import Resources
from service.bitrix.portal import PortalGateway
from service.plumbing.rulesource import RuleSource

WEBHOOK_ONLY = "--portal is for application mode (B24_APP_CLIENT_ID); webhook mode has one portal"


@dataclass(frozen=True)
class PortalScope:
    member_id: str  # '' = the webhook portal (webhook mode)
    domain: str  # '' in webhook mode


WEBHOOK = PortalScope("", "")


def operator_portal(resources: Resources, key: str | None, *, reading: bool = False) -> PortalScope:
    """The one portal a command acts on (`reading`: it only reads stored rows, so an uninstalled
    portal may be named). PortalChoiceError, with a one-line message, when there is no single one."""
    if not resources.settings.app_mode:
        if key:
            raise PortalChoiceError(WEBHOOK_ONLY)
        return WEBHOOK
    app = make_application(resources)
    member_id = choose_portal(app, key, uninstalled_ok=reading)
    return PortalScope(member_id, domain_of(app, member_id))


def portal_domains(resources: Resources) -> dict[str, str] | None:
    """Application mode: member id → domain of every portal ever installed (a listing's PORTAL column);
    None in webhook mode (no such column)."""
    if not resources.settings.app_mode:
        return None
    return {record.member_id: record.domain for record in make_application(resources).portals.all()}


def scope_rules(resources: Resources, scope: PortalScope) -> RuleSource:
    """The portal's effective rules: the shared folder, extended by its own folder in application mode."""
    if not scope.member_id:
        return resources.rules
    return resources.portal_rules.source(scope.member_id, scope.domain)


def scope_gateway(resources: Resources, scope: PortalScope) -> PortalGateway:
    """The portal's REST gateway (its webhook, or its OAuth token), under its shared rate bucket."""
    from service.assembly.wiring import make_gateway

    if not scope.member_id:
        return make_gateway(resources)
    return portal_gateway(resources, make_application(resources), scope.member_id)

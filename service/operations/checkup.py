"""What `doctor`'s checks share: their result, how one fails or is skipped, and what they found so far.

Each check reads what it needs from `Findings` (settings, database, the portal's answers), so the portal
is asked once. In application mode the portal checks run once per installed portal, each on a copy of
the findings naming that portal (`portal`), so one portal's answers never stand in for another's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine

from service.bitrix.portal import PortalGateway
from service.core.bitrix import BitrixError, Reply
from service.core.redaction import Redactor
from service.plumbing.settings import Settings
from service.store.portals import PortalRecord


@dataclass(frozen=True)
class Result:
    name: str
    status: str  # "pass" | "fail" | "skip"
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Section:
    """The checks of the deployment (`title` '') or of one installed portal."""

    title: str
    results: list[Result]


class Skip(Exception):
    """A prerequisite failed; the message names it."""


class Fail(Exception):
    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.fix = fix


class InstalledPortals(Protocol):
    """Application mode: the installed portals and a way to ask each of them (built by `assembly`)."""

    def chosen(self, key: str | None) -> list[PortalRecord]:
        """Every installed portal, or the one `key` (domain or member id) names; ValueError, in one
        line, when `key` names none or an uninstalled one."""
        ...

    def gateway(self, member_id: str) -> PortalGateway: ...

    def missing_bindings(self, member_id: str) -> list[str]:
        """The events we should have bound there that `event.get` does not list."""
        ...


@dataclass
class Findings:
    """What the checks found so far; later checks read what earlier ones stored."""

    make_gateway: Callable[[Settings, Engine], PortalGateway]  # the webhook portal's
    clock: Callable[[], datetime]
    open_portals: Callable[[Settings, Engine], InstalledPortals] | None = None
    portal_key: str | None = None  # `--portal`
    settings: Settings | None = None
    engine: Engine | None = None
    installed: InstalledPortals | None = None
    chosen: list[PortalRecord] = field(default_factory=list)  # the installed portals to check
    portal: PortalRecord | None = None  # the installed portal these findings are about (application mode)
    active: bool | None = None  # that portal's installation is usable
    gateway: PortalGateway | None = None
    rights: Mapping[str, Reply | BitrixError] = field(default_factory=dict)
    redactor: Redactor = field(default_factory=Redactor)

    def need(self, attribute: str, prerequisite: str) -> Any:
        value = getattr(self, attribute)
        if value is None or value == {}:
            raise Skip(f"skipped: {prerequisite} failed")
        return value

    @property
    def member_id(self) -> str:
        """The stored rows' portal key: '' for the webhook portal."""
        return self.portal.member_id if self.portal else ""

    @property
    def portal_flag(self) -> str:
        """What an operator command needs to act on this portal (application mode)."""
        return f" --portal {self.portal.domain}" if self.portal else ""

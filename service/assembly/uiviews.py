"""The status page's per-portal views, built once per portal and process and then kept: a view's
Insight remembers the hours it counted (store/hourly.py), so a new one per request would recount them."""

from __future__ import annotations

import threading
from collections.abc import Callable

from service.assembly.resources import Resources
from service.store.audit import AuditLog
from service.store.breakers import Breakers
from service.store.insight import Insight
from service.web.context import WebParts
from service.web.ui.parts import PortalView

MAX_VIEWS = 1000  # portals a process keeps views of; past it they are built again


class PortalViews:
    def __init__(self, resources: Resources, parts: WebParts, domain_of: Callable[[str], str]) -> None:
        self._resources = resources
        self._domain_of = domain_of  # an installed portal's domain (its rules folder may be named by it)
        engine = resources.engine
        self._webhook = PortalView(
            "", AuditLog(engine), resources.journal, parts.breakers, Insight(engine), resources.rules
        )
        self._views: dict[str, PortalView] = {}
        self._lock = threading.Lock()

    def __call__(self, portal: str) -> PortalView:
        if not portal:
            return self._webhook
        with self._lock:
            found = self._views.get(portal)
            if found is None:
                if len(self._views) >= MAX_VIEWS:
                    self._views.clear()
                engine = self._resources.engine
                found = PortalView(
                    portal,
                    AuditLog(engine, portal),
                    self._resources.journal.for_portal(portal),
                    Breakers(engine, portal),
                    Insight(engine, portal),
                    self._resources.portal_rules.source(portal, self._domain_of(portal)),
                )
                self._views[portal] = found
            return found

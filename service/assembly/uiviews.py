"""The status page's per-portal views, built once per portal and process and then kept: a view's
Insight remembers the hours it counted (store/hourly.py), so a new one per request would recount them."""

from __future__ import annotations

import threading

from service.assembly.resources import Resources
from service.store.audit import AuditLog
from service.store.breakers import Breakers
from service.store.insight import Insight
from service.web.context import WebParts
from service.web.ui.parts import PortalView

MAX_VIEWS = 1000  # portals a process keeps views of; past it they are built again


class PortalViews:
    def __init__(self, resources: Resources, parts: WebParts) -> None:
        self._resources = resources
        self._webhook = PortalView(
            "", AuditLog(resources.engine), resources.journal, parts.breakers, Insight(resources.engine)
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
                )
                self._views[portal] = found
            return found

"""Each installed portal's live rule set (application mode): the shared folder extended by the portal's
own `rules/portals/<domain or member id>/`, one `RuleSource` per portal, made when first asked for."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from service.plumbing.rulesource import RuleSource

# (portal domain, problems) → report them (logs, Sentry, metrics)
OnProblems = Callable[[str, tuple[str, ...]], None]


class PortalRules:
    def __init__(self, directory: Path, on_problems: OnProblems | None = None) -> None:
        self._directory = directory
        self._on_problems = on_problems
        self._sources: dict[str, RuleSource] = {}
        self._lock = threading.Lock()

    def source(self, member_id: str, domain: str) -> RuleSource:
        """The portal's rule source; the folder may be named by its domain or its member id."""
        with self._lock:
            known = self._sources.get(member_id)
            if known is not None and known.label == domain:
                return known
            report = self._on_problems
            source = RuleSource(
                self._directory,
                portal=(domain, member_id),
                on_problems=(lambda problems: report(domain, problems)) if report else None,
            )
            self._sources[member_id] = source
        source.refresh()
        return source

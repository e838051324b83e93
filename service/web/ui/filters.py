"""Reading the pages' filter fields from the query string: typed values, and a sentence for each field
that cannot be read (the page shows it and ignores that field; never a 500)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^(\d{1,6})\s*([mhdw])$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_ID = 2**63 - 1


@dataclass
class Fields:
    """The raw query string, and the problems found while reading it."""

    args: Mapping[str, str]
    problems: list[str] = field(default_factory=list)

    def text(self, name: str) -> str | None:
        value = self.args.get(name, "").strip()
        return value or None

    def number(self, name: str, label: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > MAX_ID:
            self.problems.append(f"{label}: {value!r} is not a whole number; ignored")
            return None
        return int(value)

    def choice(self, name: str, label: str, allowed: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is None or value in allowed:
            return value
        self.problems.append(f"{label}: {value!r} is not one of {', '.join(allowed)}; ignored")
        return None

    def moment(self, name: str, label: str, now: datetime) -> datetime | None:
        """`2h`, `30m`, `7d` back from now, or an ISO date-time (naive means UTC)."""
        value = self.text(name)
        if value is None:
            return None
        match = _DURATION.match(value)
        if match:
            return now - timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.problems.append(f"{label}: {value!r} is not a duration (2h, 7d) or a date-time; ignored")
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

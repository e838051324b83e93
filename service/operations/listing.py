"""Operator listings as aligned text columns; a listing that spans several portals gains a PORTAL column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def columns(
    header: tuple[str, ...],
    rows: Sequence[tuple[str, ...]],
    portals: Sequence[str] = (),
    domains: Mapping[str, str] | None = None,
) -> list[str]:
    """Rows aligned under `header` (the last column is never padded). With `domains` (member id →
    domain), a PORTAL column after the first one names each row's portal (`portals`, by member id)."""
    if domains is not None:
        header = (header[0], "PORTAL", *header[1:])
        rows = [(row[0], domains.get(p, p or "-"), *row[1:]) for row, p in zip(rows, portals, strict=True)]
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in table]

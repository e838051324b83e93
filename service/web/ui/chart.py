"""The Overview's 24-hour chart, drawn on the server as SVG geometry (no script, no chart library).

Two bars per hour — events received, entries deleted — on one scale, with the hour under every sixth
pair. The template turns the shapes into <rect>/<text> elements; each bar carries a <title> tooltip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.store.insight import HourCounts

WIDTH, HEIGHT = 720, 180
TOP, BOTTOM, LEFT = 16, 24, 40  # margins: room for the axis labels
LABEL_EVERY = 6  # hours


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # "events" or "deletions" (the CSS class)
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    labels: tuple[Label, ...]
    peak: int
    baseline: float
    events: int
    deletions: int


def hourly_chart(hours: Sequence[HourCounts]) -> Chart:
    peak = max([1, *(h.events for h in hours), *(h.deletions for h in hours)])
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(len(hours), 1)
    bar_width = slot * 0.4
    bars: list[Bar] = []
    labels = [Label(LEFT - 6, TOP + 4, str(peak)), Label(LEFT - 6, HEIGHT - BOTTOM, "0")]
    for i, hour in enumerate(hours):
        x = LEFT + i * slot + slot * 0.1
        when = f"{hour.start:%H}:00 UTC"
        for offset, kind, count in ((0.0, "events", hour.events), (bar_width, "deletions", hour.deletions)):
            height = plot_height * count / peak
            title = f"{when}: {count} {'events received' if kind == 'events' else 'entries deleted'}"
            bars.append(Bar(x + offset, HEIGHT - BOTTOM - height, bar_width, height, kind, title))
        if i % LABEL_EVERY == 0:
            labels.append(Label(x + bar_width, HEIGHT - 6, f"{hour.start:%H}:00"))
    return Chart(
        WIDTH,
        HEIGHT,
        tuple(bars),
        tuple(labels),
        peak,
        HEIGHT - BOTTOM,
        sum(h.events for h in hours),
        sum(h.deletions for h in hours),
    )

"""python -m bench.ui [--rows 100000] [--days 30] [--repeat 30] [--postgres]

Times every status page (signed in, in-process through the real app: Flask, Jinja, SQLAlchemy) on a store
with `--rows` audit records and as many events spread over `--days` days (so 1/days of them fall in the
Overview's 24 hours; --days 2 is the worst case), and on an empty store, against /healthz in the same run.
Prints, per page: median and p95 in ms, and the median as a ratio to /healthz's median. The target is
every page under 200 ms at 100,000 audit rows (issue 15).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask.testing import FlaskClient

from bench.ui.seed import RULES, seed
from service.assembly.resources import build_resources
from service.assembly.webwiring import ui_parts, web_parts
from service.plumbing.clock import utcnow
from service.plumbing.settings import load_settings
from service.store.db import open_database
from service.web.app import create_app
from tests.pgschema import postgres_unavailable, throwaway_schema

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bench-ui-token-0123456789"
BASELINE = "/healthz"


def pages(task_id: int, middle_id: int) -> list[str]:
    return [
        BASELINE,
        "/ui/",
        "/ui/activity",
        f"/ui/activity?rule={RULES[1]}&since=24h",
        "/ui/activity?outcome=dead",
        "/ui/audit",
        f"/ui/audit?rule={RULES[2]}",
        "/ui/audit?outcome=failed",
        "/ui/audit?outcome=restored",
        f"/ui/audit?task={task_id}",
        f"/ui/audit?before={middle_id}",
        "/ui/rules",
        "/ui/actions",
    ]


@contextmanager
def database(postgres: bool) -> Iterator[str]:
    if postgres:
        if reason := postgres_unavailable():
            raise SystemExit(reason)
        with throwaway_schema("bench_ui") as url:
            yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="b24rules-bench-ui-"))
    try:
        yield f"sqlite:///{folder / 'b24rules.sqlite3'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def signed_in_client(url: str) -> FlaskClient:
    settings = load_settings(
        b24_database_url=url,
        b24_rules_dir=ROOT / "rules",
        b24_application_token="bench-application-token",
        b24_ui_token=TOKEN,
    )
    resources = build_resources(settings, component="web", configure=False)
    parts = web_parts(resources)
    client = create_app(parts, ui_parts(resources, parts)).test_client()
    client.post("/ui/sign-in", data={"name": "bench", "token": TOKEN})
    return client


def timings(client: FlaskClient, paths: list[str], repeat: int) -> dict[str, list[float]]:
    """Per page: the first request (templates compiled, the Overview's hours counted), then the rest."""
    found: dict[str, list[float]] = {path: [] for path in paths}
    for _ in range(repeat + 1):
        for path in paths:
            start = time.perf_counter()
            answer = client.get(path)
            found[path].append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, (path, answer.status_code)
    return found


def p95(values: list[float]) -> float:
    return sorted(values)[max(int(len(values) * 0.95) - 1, 0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--days", type=float, default=30.0, help="the history's span")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL at B24_TEST_POSTGRES_URL")
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    paths = pages(task_id=1234, middle_id=args.rows // 2)
    for label, rows in (("empty", 0), (f"{args.rows:,} rows", args.rows)):
        with database(args.postgres) as url:
            client = signed_in_client(url)
            if rows:
                started = time.perf_counter()
                seed(open_database(url), rows, utcnow(), args.days)
                took = time.perf_counter() - started
                print(
                    f"seeded {rows:,} audit records and as many events over {args.days:g} d in {took:.0f} s"
                )
            results[label] = timings(client, paths, args.repeat)
    report(results, args)


def report(results: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> None:
    engine = "PostgreSQL" if args.postgres else "SQLite"
    empty, full = results.values()
    base = statistics.median(full[BASELINE][1:])
    print(f"\n{engine}, {args.rows:,} rows over {args.days:g} days, {args.repeat} requests a page")
    print(f"ratio = median / median of {BASELINE}")
    print(f"{'page':46} {'empty ms':>9} {'first ms':>9} {'median ms':>10} {'p95 ms':>8} {'ratio':>7}")
    for path, (first, *values) in full.items():
        median = statistics.median(values)
        flag = "" if path == BASELINE or p95(values) < 200 else "  over 200 ms"
        print(
            f"{path:46} {statistics.median(empty[path][1:]):9.1f} {first:9.1f} {median:10.1f} "
            f"{p95(values):8.1f} {median / base:7.0f}{flag}"
        )


if __name__ == "__main__":
    main()

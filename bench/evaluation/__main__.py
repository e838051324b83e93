"""python -m bench.evaluation [--rules 100] [--entries 10000] [--runs 3]

Evaluates one task with `--entries` time entries against `--rules` rules (bench/evaluation/workload.py),
both ways the engine can: traced (every condition of every rule x entry recorded: what `simulate` shows,
and the only way before the compiled evaluator) and untraced (the worker's path: compiled rules, traces
only for the deletions). Each run is a fresh process per mode, alternating, so one mode's memory does not
inflate the other's: wall and CPU time of `engine.evaluate`, and peak RSS above the RSS just before it (the
rules loaded and the entries built). Both modes must select the same entries; the script checks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import time

from bench.evaluation.workload import NOW, TASK, entries, ruleset
from service.core.engine import EventInput, evaluate
from service.core.transitions import NO_TRANSITION

MODES = ("traced", "untraced")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def one(mode: str, rules: int, count: int) -> dict[str, object]:
    """In this process: build the inputs, then time one evaluation in `mode`."""
    loaded, made = ruleset(rules), entries(count)
    event = EventInput("ONTASKUPDATE", NOW, "bench.bitrix24.com", "m1", "event")
    before = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    plan = evaluate(loaded, event=event, task=TASK, entries=made, transition=NO_TRANSITION, now=NOW,
                    trace=mode == "traced")  # fmt: skip
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    chosen = sorted((d.rule, d.item_id, d.mode, d.reason) for d in plan.deletions)
    return {"mode": mode, "seconds": seconds, "cpu": cpu, "mb": peak - before, "deletions": len(chosen),
            "answer": hashlib.sha256(repr(chosen).encode()).hexdigest()}  # fmt: skip


def spawn(mode: str, rules: int, count: int) -> dict[str, object]:
    args = ["--one", mode, "--rules", str(rules), "--entries", str(count)]
    done = subprocess.run(
        [sys.executable, "-m", "bench.evaluation", *args], check=True, capture_output=True, text=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluation")
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.rules, args.entries)))
        return
    results: dict[str, list[dict[str, object]]] = {mode: [] for mode in MODES}
    for _ in range(args.runs):
        for mode in MODES:
            results[mode].append(spawn(mode, args.rules, args.entries))
    answers = {r["answer"] for rs in results.values() for r in rs}
    print(f"{args.rules} rules x {args.entries} entries, {args.runs} runs, median (min-max)")
    for mode, runs in results.items():
        seconds = [float(str(r["seconds"])) for r in runs]
        cpu = [float(str(r["cpu"])) for r in runs]
        mb = [float(str(r["mb"])) for r in runs]
        count = runs[0]["deletions"]
        times = f"{summary(seconds)} s (CPU {summary(cpu)} s)"
        print(f"{mode:9} {times}  {summary(mb)} MB above baseline  deletions {count}")
    pairs = zip(results["traced"], results["untraced"], strict=True)
    ratios = [float(str(t["seconds"])) / float(str(u["seconds"])) for t, u in pairs]
    print(f"untraced is {summary(ratios)}x faster than traced, same run")
    if len(answers) != 1:
        raise SystemExit("FAILED: traced and untraced selected different entries")
    print("both modes selected the same entries with the same reasons")


if __name__ == "__main__":
    main()

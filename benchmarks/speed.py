"""Screening speed benchmark: Vigil beside nomenklatura's logic-v2 (yente's matcher).

Prints one table. Both sides screen against the newest release of every list
(UN, OFAC SDN, OFAC Consolidated), each side in a fresh process so that its
peak memory is its own. Queries are people of the synthetic customer file
(benchmarks/cases.py ``population``: name, kind person, date of birth).

* index build: Vigil's ``Screener(...)`` construction; for the reference,
  turning the entries into FollowTheMoney entities and building its name-key
  blocking index (after loading rigour's name data once, reported apart).
* peak memory: the process's peak resident set (lists parsed, index built,
  queries screened; VmHWM), and how much the resident set grew while the
  index was built.
* batch: ``--queries`` people screened one after another in one process, and
  split over ``--processes`` forked workers (the index built before forking),
  wall time including the workers' start, after one full garbage collection
  (as in a server that has run a while); then both again after
  ``gc.freeze()``, which moves everything built so far out of the garbage
  collector's sight: its full collections stop walking the index, and
  forked workers stop copying the index's pages as the collector touches
  them (what a pre-forking server does).
* latency: ``--latency`` single queries timed one by one, p50 and p99.
* nomenklatura, yente-like: logic-v2 scoring the 50 best candidates of the
  blocking index per query (reference.py); fewer queries (``--reference-queries``).
* nomenklatura, brute force: logic-v2 scoring one query against every entry
  of the lists, timed for ``--brute-queries`` queries; its screens/s is
  1 / (seconds per query), the pairs/s it rests on is shown beside it.

    python benchmarks/speed.py [--queries 20000] [--processes 2] [--latency 1000]
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases as C  # noqa: E402

GOAL_SCREENS = 5_000
STRETCH_SCREENS = 20_000
GOAL_BUILD = 10.0  # seconds
GOAL_MEMORY = 1024  # MB
THRESHOLD = 0.7


def _memory_mb(field: str) -> float:
    """VmHWM (peak) or VmRSS (now) of this process, in MB. Not getrusage's
    ru_maxrss: Linux carries that over from the parent across fork and exec."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_mb() -> float:
    return _memory_mb("VmHWM")


def _lists(data: Path) -> list:
    paths = C.newest_lists(data)
    return [(C.load(path).entries, C.version(C.load(path), i, path)) for i, path in enumerate(paths.values(), start=1)]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


_SCREEN = None  # the function a forked worker screens with


def _screen_chunk(queries: list) -> int:
    return sum(len(_SCREEN(query)) for query in queries)


def _batch(screen, queries: list, processes: int) -> tuple[float, float]:
    """(screens/s in one process, screens/s over ``processes`` forked workers)."""
    global _SCREEN
    _SCREEN = screen
    started = time.perf_counter()
    _screen_chunk(queries)
    single = len(queries) / (time.perf_counter() - started)
    size = max(1, len(queries) // (processes * 16))
    chunks = [queries[i:i + size] for i in range(0, len(queries), size)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_screen_chunk, chunks)
    parallel = len(queries) / (time.perf_counter() - started)
    return single, parallel


def _latency(screen, queries: list) -> tuple[float, float]:
    timings = []
    for query in queries:
        started = time.perf_counter()
        screen(query)
        timings.append(time.perf_counter() - started)
    return _percentile(timings, 0.5) * 1000, _percentile(timings, 0.99) * 1000


def run_vigil(args: argparse.Namespace) -> dict:
    from vigil import Screener

    lists = _lists(args.data)
    people = C.population(args.population)
    queries = [p.query() for p in people[:args.queries]]
    latency_queries = [p.query() for p in people[-args.latency:]]
    pairs = C.screener_input(lists)
    before = _memory_mb("VmRSS")
    started = time.perf_counter()
    screener = Screener(pairs)
    build = time.perf_counter() - started
    index_mb = _memory_mb("VmRSS") - before

    def screen(query):
        return screener.match(query, threshold=THRESHOLD)

    screen(queries[0])  # raises NotImplementedError while the screener is unfinished
    gc.collect()  # a fixed start: the collector has seen the index once (as in a server that has run a while)
    p50, p99 = _latency(screen, latency_queries)
    single, parallel = _batch(screen, queries, args.processes)
    gc.freeze()
    frozen_single, frozen_parallel = _batch(screen, queries, args.processes)
    return {"entries": len(pairs), "build": build, "index_mb": index_mb, "single": single, "parallel": parallel,
            "frozen_single": frozen_single, "frozen_parallel": frozen_parallel, "p50": p50, "p99": p99,
            "queries": len(queries), "latency_queries": len(latency_queries), "peak_mb": _peak_mb()}


def run_reference(args: argparse.Namespace) -> dict:
    import reference

    lists = _lists(args.data)
    people = C.population(args.population)
    entries = [entry for listed, _ in lists for entry in listed]
    started = time.perf_counter()
    reference.blocking_keys(reference.entry_entity(entries[0], "warm-up"))
    warm_up = time.perf_counter() - started
    before = _memory_mb("VmRSS")
    started = time.perf_counter()
    matcher = reference.ReferenceMatcher(entries)
    build = time.perf_counter() - started
    index_mb = _memory_mb("VmRSS") - before

    def screen(query):
        return matcher.scores(query, THRESHOLD)

    queries = [p.query() for p in people[:args.reference_queries]]
    gc.collect()
    p50, p99 = _latency(screen, [p.query() for p in people[-args.reference_queries:]])
    single, parallel = _batch(screen, queries, args.processes)
    gc.freeze()
    frozen_single, frozen_parallel = _batch(screen, queries, args.processes)

    # Brute force: one query against every entry.
    timings = []
    for person in people[args.reference_queries:args.reference_queries + args.brute_queries]:
        entity = reference.query_entity(person.query())
        started = time.perf_counter()
        for position in range(len(matcher.entities)):
            matcher.score(entity, position)
        timings.append(time.perf_counter() - started)
    per_query = statistics.mean(timings)
    return {"entries": len(entries), "warm_up": warm_up, "build": build, "index_mb": index_mb, "single": single,
            "parallel": parallel, "frozen_single": frozen_single, "frozen_parallel": frozen_parallel,
            "p50": p50, "p99": p99, "queries": len(queries), "brute_single": 1 / per_query,
            "brute_pairs": len(matcher.entities) / per_query, "brute_p50": statistics.median(timings) * 1000,
            "brute_queries": len(timings), "peak_mb": _peak_mb(), "version": reference.version()}


def _child(side: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--side", side, "--data", str(args.data), "--queries", str(args.queries),
               "--processes", str(args.processes), "--latency", str(args.latency), "--population",
               str(args.population), "--reference-queries", str(args.reference_queries),
               "--brute-queries", str(args.brute_queries)]
    child = subprocess.run(command, capture_output=True, text=True)
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last}
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=C.DATA)
    parser.add_argument("--queries", type=int, default=20_000, help="people screened in the batch")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--latency", type=int, default=1_000, help="single queries timed")
    parser.add_argument("--population", type=int, default=100_000, help="size of the cached population drawn from")
    parser.add_argument("--reference-queries", type=int, default=500, help="queries for nomenklatura (yente-like)")
    parser.add_argument("--brute-queries", type=int, default=10, help="queries for nomenklatura brute force")
    parser.add_argument("--no-reference", action="store_true", help="skip nomenklatura")
    parser.add_argument("--side", choices=["vigil", "reference"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        run = run_vigil if args.side == "vigil" else run_reference
        print(json.dumps(run(args)))
        return

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(f"Screening speed, {date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, "
                  f"Python {platform.python_version()}", highlight=False)
    C.population(args.population)  # build and cache it once, before the children read it
    console.print("  Vigil ...")
    vigil = _child("vigil", args)
    ref: dict = {"error": "skipped (--no-reference)"}
    if not args.no_reference:
        console.print("  nomenklatura logic-v2 ...")
        ref = _child("reference", args)

    def value(result: dict, key: str, fmt: str) -> str:
        return "n/a" if "error" in result or key not in result else format(result[key], fmt)

    table = Table(title="Screening speed against all lists (newest UN, OFAC SDN, OFAC Consolidated)")
    for column in ("measure", "Vigil", "logic-v2, 50 candidates (yente-like)", "logic-v2, brute force", "goal"):
        table.add_column(column, justify="left" if column in ("measure", "goal") else "right")
    table.add_row("entries screened against", value(vigil, "entries", ","), value(ref, "entries", ","),
                  value(ref, "entries", ","), "")
    table.add_row("index build, s", value(vigil, "build", ".2f"), value(ref, "build", ".2f"), "–",
                  f"< {GOAL_BUILD:g} s")
    table.add_row("peak memory, MB (lists parsed, index, queries)", value(vigil, "peak_mb", ",.0f"),
                  value(ref, "peak_mb", ",.0f"), "(same process)", f"< {GOAL_MEMORY:,} MB")
    table.add_row("    of which the index, MB", value(vigil, "index_mb", ",.0f"), value(ref, "index_mb", ",.0f"),
                  "", "")
    table.add_row(f"batch screens/s, {args.processes} processes", value(vigil, "parallel", ",.0f"),
                  value(ref, "parallel", ",.1f"), "–", f"≥ {GOAL_SCREENS:,} (stretch {STRETCH_SCREENS:,})")
    table.add_row("batch screens/s, 1 process", value(vigil, "single", ",.0f"), value(ref, "single", ",.1f"),
                  value(ref, "brute_single", ",.2f"), "")
    table.add_row(f"    after gc.freeze(), {args.processes} processes", value(vigil, "frozen_parallel", ",.0f"),
                  value(ref, "frozen_parallel", ",.1f"), "–", "")
    table.add_row("    after gc.freeze(), 1 process", value(vigil, "frozen_single", ",.0f"),
                  value(ref, "frozen_single", ",.1f"), "–", "")
    table.add_row("single-query latency p50, ms", value(vigil, "p50", ".2f"), value(ref, "p50", ".1f"),
                  value(ref, "brute_p50", ",.0f"), "")
    table.add_row("single-query latency p99, ms", value(vigil, "p99", ".2f"), value(ref, "p99", ".1f"), "–", "")
    table.add_row("logic-v2 pairs scored per second", "", "", value(ref, "brute_pairs", ",.0f"), "")
    if "error" not in vigil and "error" not in ref:
        ratio = vigil["single"] / ref["brute_single"]
        table.add_row("Vigil ÷ logic-v2 brute force, 1 process", f"{ratio:,.0f}×", "", "", "≈ 1,000×")
    console.print(table)

    if "error" in vigil:
        console.print(f"Vigil: n/a, the screener raised {vigil['error']}", highlight=False)
    else:
        met = [
            vigil["parallel"] >= GOAL_SCREENS,
            vigil["build"] < GOAL_BUILD,
            vigil["peak_mb"] < GOAL_MEMORY,
        ]
        stretch = " (stretch met)" if vigil["parallel"] >= STRETCH_SCREENS else ""
        console.print(f"Vigil goals (≥ {GOAL_SCREENS:,} screens/s, build < {GOAL_BUILD:g} s, memory < "
                      f"{GOAL_MEMORY:,} MB): {'met' if all(met) else 'MISSED'}{stretch}; batch of "
                      f"{vigil['queries']:,} people, latency over {vigil['latency_queries']:,} queries", highlight=False)
    if "error" in ref:
        console.print(f"nomenklatura: {ref['error']}", highlight=False)
    else:
        console.print(f"nomenklatura: {ref['version']}; rigour's name data load once: {ref['warm_up']:.1f} s "
                      f"(not in the build time); yente-like batch and latency over {ref['queries']:,} people; "
                      f"brute force over {ref['brute_queries']} people", highlight=False)


if __name__ == "__main__":
    main()

"""HTTP service benchmark: `vigil serve` under load from wrk, each in its own process.

Prints one table: requests/s, queries/s and latency p50/p95/p99 of POST /match
with one query per request and with batches of 100, at several numbers of
concurrent connections, and where the machine's CPU went meanwhile.

* Service: a new SQLite store in a temporary folder, the newest UN list
  imported with `vigil import` (``--lists all``: the newest UN, OFAC SDN and
  OFAC Consolidated), one screener key, then `vigil serve --workers N` on a
  free loopback port (tests/serving.py ``running_server``). The load starts
  once every worker has built its index (each worker's
  ``vigil_list_version`` gauge is set) and after a warm-up.
* Queries: ``--listed`` of them name listed parties, the rest are people of
  the synthetic customer file (benchmarks/cases.py ``population``, with date
  of birth) who are not listed, as in real traffic. The listed ones come from
  the newest UN list: OFAC's spellings of UN-listed people that the UN entry
  does not have (real spelling variation, cases.py (c)), and the UN's own
  aliases and original-script names as published (cases.py (a), (b)), with
  the year of birth where known. Every request body is different until the
  set runs out (``--bodies`` single-query bodies; 700 batches): each run
  goes on where the one before stopped.
* Load: wrk (C, one thread by default, so that the CPU is left to the
  server) keeps ``connections`` requests in flight for ``--duration``
  seconds (closed loop: latency is measured from each request's sending to
  its answer). benchmarks/http_post.lua checks every answer: status 200 and
  exactly as many results as the body sent queries; anything else stops the
  benchmark. Requests carry the key; a request without it must get 401.
* per worker: how many of wrk's connections each worker process held (a
  connection stays with the worker that accepted it).
* CPU ms/query: the CPU time of the server's processes per query screened.
  CPU, % of the whole machine: the server's processes, wrk, and everything
  else on the machine (other work on a shared machine shows here).
* Audit: every answered /match must have added one audit record; the rows
  each run added are compared with the answers wrk counted (a few more are
  fine: requests still in flight when wrk stopped) and the chain is verified
  at the end.

    python benchmarks/http_service.py [--lists un|all] [--workers 2] [--duration 15]
                                      [--connections 1,4,16,64] [--listed 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
from prometheus_client.multiprocess import MultiProcessCollector
from rich.console import Console
from rich.table import Table

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))
sys.path.insert(0, str(BENCHMARKS.parent / "tests"))

import cases as C  # noqa: E402
from serving import VIGIL, running_server  # noqa: E402

from vigil import Query  # noqa: E402
from vigil.api.audit import AuditTrail  # noqa: E402
from vigil.store.database import make_engine  # noqa: E402

GOAL_P99_MS = 20.0  # single-query /match at GOAL_CONNECTIONS
GOAL_CONNECTIONS = 16
GOAL_QUERIES = 5_000  # queries/s in batches
BATCH = 100
BATCH_BODIES = 700
LUA = BENCHMARKS / "http_post.lua"
TICKS = os.sysconf("SC_CLK_TCK")


# --- queries -------------------------------------------------------------------

def _as_json(query: Query) -> dict:
    fields = {"id": query.id, "name": query.name, "kind": query.kind, "dob": query.dob}
    return {k: v for k, v in fields.items() if v}


def make_queries(count: int, listed_share: float, data: Path) -> tuple[list[dict], int, int]:
    """``count`` queries in a fixed random order; how many name listed parties, and
    from how many listed spellings they are drawn (in turn)."""
    newest = C.newest_lists(data)
    un_path = newest["un"]
    un, sdn = C.load(un_path), C.load(newest["ofac-sdn"])
    listed_version = C.version(un, 1, un_path)
    case_sets = (C.cross_agency_cases(un, sdn, listed_version), C.alias_cases(un, listed_version),
                 C.original_script_cases(un, listed_version))
    rng = random.Random(C.SEED)
    spellings = [case.with_dob() for case_set in case_sets for case in case_set.cases]
    rng.shuffle(spellings)
    wanted = round(count * listed_share)
    listed = (spellings * (wanted // len(spellings) + 1))[:wanted]
    people = [person.query() for person in C.population(count - wanted)]
    queries = [_as_json(q) for q in listed + people]
    rng.shuffle(queries)
    return queries, wanted, min(wanted, len(spellings))


def write_bodies(path: Path, queries: list[dict], size: int) -> int:
    """One JSON request body a line, ``size`` queries each; the number of bodies."""
    bodies = [queries[i:i + size] for i in range(0, len(queries) - size + 1, size)]
    lines = (json.dumps({"queries": body}, ensure_ascii=False) + "\n" for body in bodies)
    path.write_text("".join(lines), encoding="utf-8")
    return len(bodies)


# --- the service -----------------------------------------------------------------

def import_lists(db_url: str, data: Path, which: str) -> list[str]:
    newest = C.newest_lists(data)
    paths = [newest["un"]] if which == "un" else list(newest.values())
    for path in paths:
        subprocess.run([VIGIL, "--db", db_url, "import", str(path)], check=True, capture_output=True)
    return [f"{path.parent.name}/{path.name}" for path in paths]


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def ready_workers(metrics_dir: Path) -> list[int]:
    """The worker processes that have built their screening index (set vigil_list_version)."""
    ready = []
    for path in metrics_dir.glob("gauge_max_*.db"):
        metrics = MultiProcessCollector.merge([str(path)], accumulate=False)
        if any(m.name == "vigil_list_version" and m.samples for m in metrics):
            ready.append(int(path.stem.rsplit("_", 1)[1]))
    return sorted(ready)


def connections_per_worker(port: int, workers: list[int]) -> list[int]:
    """Open connections to ``port`` that each worker holds: the kernel hands each
    new connection to whichever worker accepts first, and keeps it there."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(f"socket:[{fields[9]}]")
    counts = []
    for pid in workers:
        held = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                held += os.readlink(fd) in established
            except OSError:
                continue
        counts.append(held)
    return counts


def wait_for_workers(metrics_dir: Path, workers: int, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while len(ready_workers(metrics_dir)) < workers:
        if time.monotonic() > deadline:
            sys.exit(f"only {len(ready_workers(metrics_dir))} of {workers} workers built their index within "
                     f"{timeout:.0f} s:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)


def sanity_checks(url: str, key: str, single: Path, batch: Path) -> None:
    """The key is needed and works; a batch answers every one of its queries."""
    body = single.read_text(encoding="utf-8").splitlines()[0]
    headers = {"Content-Type": "application/json"}
    without = httpx.post(url + "/match", content=body, headers=headers)
    if without.status_code != 401:
        sys.exit(f"POST /match without a key answered {without.status_code}, not 401: {without.text[:300]}")
    headers["Authorization"] = f"Bearer {key}"
    for path, size in ((single, 1), (batch, BATCH)):
        body = path.read_text(encoding="utf-8").splitlines()[0]
        answer = httpx.post(url + "/match", content=body, headers=headers, timeout=60)
        if answer.status_code != 200 or len(answer.json()["results"]) != size:
            sys.exit(f"POST /match with {size} queries answered {answer.status_code}: {answer.text[:300]}")


# --- load ----------------------------------------------------------------------

@dataclass
class Cpu:
    """CPU seconds so far: the server's processes, reaped children (wrk), this
    process, the machine's busy time and its capacity (busy and idle, all CPUs)."""

    server: float
    children: float
    own: float
    busy: float
    capacity: float

    @classmethod
    def now(cls, server_pids: list[int]) -> Cpu:
        server = 0
        for pid in server_pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            server += int(fields[11]) + int(fields[12])  # utime, stime
        with open("/proc/stat") as handle:
            ticks = [int(x) for x in handle.readline().split()[1:9]]  # user .. softirq, steal
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        return cls(server / TICKS, children.ru_utime + children.ru_stime, own.ru_utime + own.ru_stime,
                   (sum(ticks) - ticks[3] - ticks[4]) / TICKS, sum(ticks) / TICKS)

    def shares(self, before: Cpu) -> dict[str, float]:
        """Shares of the machine since ``before``: server, wrk, everything else; and the server's seconds."""
        capacity = (self.capacity - before.capacity) or 1e-9
        server, client = self.server - before.server, self.children - before.children
        other = self.busy - before.busy - server - client - (self.own - before.own)
        return {"server": server / capacity, "wrk": client / capacity, "other": max(0.0, other) / capacity,
                "server_seconds": server}


def wrk(url: str, key: str, bodies: Path, size: int, connections: int, seconds: int, threads: int, start: int,
        workers: list[int]) -> dict:
    """One wrk run; its bodies are sent from number ``start`` on (so that runs do not replay each other's).
    Adds "spread": how many of wrk's connections each worker held a second in."""
    command = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s",
               "-s", str(LUA), url + "/match", "--", str(bodies), str(size), str(start)]
    environment = {**os.environ, "VIGIL_BENCH_KEY": key}  # not on the command line
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment) as run:
        time.sleep(min(1.0, seconds / 2))
        spread = connections_per_worker(httpx.URL(url).port, workers)
        stdout, stderr = run.communicate()
    lines = [line for line in stdout.splitlines() if line.startswith("vigil-bench ")]
    if run.returncode != 0 or not lines:
        sys.exit(f"wrk failed ({run.returncode}): {stderr.strip() or stdout.strip()}")
    return {**json.loads(lines[-1].removeprefix("vigil-bench ")), "spread": spread}


def settled_count(audit: AuditTrail) -> int:
    """Audit rows once requests still running when wrk stopped have finished."""
    count = audit.count()
    while True:
        time.sleep(0.5)
        again = audit.count()
        if again == count:
            return count
        count = again


@dataclass
class Run:
    label: str
    size: int
    connections: int
    result: dict
    audit_rows: int
    cpu: dict[str, float]  # Cpu.shares

    @property
    def seconds(self) -> float:
        return self.result["duration_us"] / 1e6

    @property
    def per_second(self) -> float:
        return self.result["requests"] / self.seconds

    @property
    def queries_per_second(self) -> float:
        return self.result["queries"] / self.seconds


def measure(label: str, url: str, key: str, bodies: Path, size: int, connections: int, start: int,
            args: argparse.Namespace, audit: AuditTrail, server_pids: list[int], workers: list[int], log: Path) -> Run:
    rows_before = settled_count(audit)
    before = Cpu.now(server_pids)
    result = wrk(url, key, bodies, size, connections, args.duration, args.threads, start, workers)
    after = Cpu.now(server_pids)
    rows = settled_count(audit) - rows_before
    problems = []
    if result["not_ok"] or result["status"]:
        problems.append(f"{result['not_ok'] or result['status']} answers were not 200")
    for error in ("connect", "read", "write", "timeout"):
        if result[error]:
            problems.append(f"{result[error]} socket {error} errors")
    if result["short"] or result["queries"] != result["ok"] * size:
        problems.append(f"{result['short']} answers did not hold {size} results")
    if result["ok"] != result["requests"]:
        problems.append(f"wrk counted {result['requests']} requests but the script saw {result['ok']} good answers")
    if not result["ok"] <= rows <= result["ok"] + connections:
        problems.append(f"{rows} audit rows were written for {result['ok']} answers")
    if problems:
        sys.exit(f"{label}, {connections} connections: {'; '.join(problems)}\nserver log:\n{log.read_text()[-2000:]}")
    return Run(label, size, connections, result, rows, after.shares(before))


# --- the table -------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=C.DATA)
    parser.add_argument("--lists", choices=["un", "all"], default="un",
                        help="the newest UN list, or the newest UN, OFAC SDN and OFAC Consolidated")
    parser.add_argument("--workers", type=int, default=2, help="vigil serve --workers")
    parser.add_argument("--connections", default="1,4,16,64", help="concurrent connections, comma-separated")
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per measurement")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of load before measuring, per request size")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--bodies", type=int, default=20_000, help="distinct single-query bodies")
    parser.add_argument("--listed", type=float, default=0.1, help="share of queries naming listed parties")
    args = parser.parse_args()
    levels = [int(c) for c in args.connections.split(",")]
    if not 0 <= args.listed <= 1:
        parser.error("--listed: a share between 0 and 1")
    if not shutil.which("wrk"):
        sys.exit("wrk is needed to drive the load: apt-get install wrk (Debian, Ubuntu) or brew install wrk (macOS)")

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    load_before = os.getloadavg()
    console.print(f"HTTP service, {date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, Python "
                  f"{platform.python_version()}, load average {load_before[0]:.2f} at start", highlight=False)

    workdir = Path(tempfile.mkdtemp(prefix="vigil-http-bench-"))
    try:
        db_url = f"sqlite:///{workdir / 'bench.db'}"
        imported = import_lists(db_url, args.data, args.lists)
        queries, listed, spellings = make_queries(args.bodies + BATCH * BATCH_BODIES, args.listed, args.data)
        single, batch = workdir / "single.jsonl", workdir / "batch.jsonl"
        singles = write_bodies(single, queries[:args.bodies], 1)
        batches = write_bodies(batch, queries[args.bodies:], BATCH)
        metrics_dir = workdir / "metrics"
        metrics_dir.mkdir()
        env = {"VIGIL_POLL_SECONDS": "2", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        with running_server(db_url, workdir, "--workers", str(args.workers), env=env) as server:
            key = server.keys["screener"]
            wait_for_workers(metrics_dir, args.workers, server.log)
            server_pids, workers = descendants(server.process.pid), ready_workers(metrics_dir)
            sanity_checks(server.url, key, single, batch)
            audit = AuditTrail(make_engine(db_url))
            runs = []
            for label, bodies, size in (("1 query", single, 1), (f"{BATCH} queries", batch, BATCH)):
                sent = wrk(server.url, key, bodies, size, 4, args.warmup, args.threads, 0, workers)["requests"]
                for connections in levels:
                    runs.append(measure(label, server.url, key, bodies, size, connections, sent, args, audit,
                                        server_pids, workers, server.log))
                    sent += runs[-1].result["requests"]
            verification = audit.verify()
            audit.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    table = Table(title=f"POST /match over HTTP: vigil serve --workers {args.workers}, wrk, {', '.join(imported)}")
    columns = ("request", "connections", "per worker", "requests/s", "queries/s", "p50 ms", "p95 ms", "p99 ms",
               "CPU ms/query", "CPU: server", "wrk", "other", "goal")
    for column in columns:
        table.add_column(column, justify="left" if column in ("request", "goal") else "right",
                         no_wrap=column in ("request", "goal"))
    for run in runs:
        r, cpu = run.result, run.cpu
        goal = ""
        if run.size == 1 and run.connections == GOAL_CONNECTIONS:
            goal = f"p99 < {GOAL_P99_MS:g} ms: {'met' if r['p99_us'] / 1000 < GOAL_P99_MS else 'MISSED'}"
        elif run.size == BATCH:
            goal = f"≥ {GOAL_QUERIES:,} q/s: {'met' if run.queries_per_second >= GOAL_QUERIES else 'MISSED'}"
        table.add_row(
            run.label, str(run.connections), " + ".join(map(str, r["spread"])), f"{run.per_second:,.1f}",
            f"{run.queries_per_second:,.0f}",
            f"{r['p50_us'] / 1000:,.1f}", f"{r['p95_us'] / 1000:,.1f}", f"{r['p99_us'] / 1000:,.1f}",
            f"{cpu['server_seconds'] * 1000 / max(1, r['queries']):.2f}",
            f"{cpu['server']:.0%}", f"{cpu['wrk']:.0%}", f"{cpu['other']:.0%}", goal,
        )
    console.print(table)

    at_goal = [run for run in runs if run.size == 1 and run.connections == GOAL_CONNECTIONS]
    p99 = f"{at_goal[0].result['p99_us'] / 1000:.1f} ms" if at_goal else "not measured"
    fast = [str(run.connections) for run in runs if run.size == BATCH and run.queries_per_second >= GOAL_QUERIES]
    console.print(f"Goals: single-query p99 < {GOAL_P99_MS:g} ms at {GOAL_CONNECTIONS} connections: "
                  f"{'met' if at_goal and at_goal[0].result['p99_us'] / 1000 < GOAL_P99_MS else 'MISSED'} ({p99}); "
                  f"≥ {GOAL_QUERIES:,} queries/s in batches of {BATCH}: "
                  f"{'met at ' + ', '.join(fast) + ' connections' if fast else 'MISSED'}", highlight=False)
    answered = sum(run.result["ok"] for run in runs)
    rows = sum(run.audit_rows for run in runs)
    hits = sum(run.result["hits"] for run in runs)
    screened = sum(run.result["queries"] for run in runs)
    chain = "verified" if verification.ok else f"BROKEN at record {verification.broken_at}: {verification.problem}"
    load_after = os.getloadavg()
    notes = [
        (f"Every answer was a 200 holding one result per query; a request without the key got 401. Audit: "
         f"{rows:,} rows written during the measurements for {answered:,} answers counted by wrk (the difference: "
         f"requests in flight when wrk stopped); chain of {verification.records:,} records {chain}."),
        (f"Queries: {len(queries):,}: {listed:,} naming listed parties (drawn in turn from {spellings:,} listed "
         f"spellings), the rest unlisted people with date of birth; in {singles:,} single and {batches} batch "
         f"bodies, sent in turn from one run to the next; {hits * 1000 / max(1, screened):.1f} hits per 1,000 "
         f"queries screened."),
        (f"{args.duration} s of load per row after {args.warmup} s of warm-up per request size; wrk "
         f"{args.threads} thread(s), closed loop. Per worker: wrk's connections held by each worker process. CPU: "
         f"share of the whole machine ({os.cpu_count()} CPUs) used by the server's processes, by wrk, and by "
         f"everything else. Load average {load_before[0]:.2f} at start, {load_after[0]:.2f} at the end."),
    ]
    for note in notes:
        console.print(note, highlight=False)


if __name__ == "__main__":
    main()

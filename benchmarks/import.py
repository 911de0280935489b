"""Import benchmark: every real release in sequence into one store.

Prints one table: file, entries, seconds to parse, seconds to store, peak
memory (resident set of the process importing that file), and the goals.
Each file is imported in a fresh process, as `vigil import` would be.

    python benchmarks/import.py [--data ../shared/data] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

GOALS = {"un": 2.0, "ofac-sdn": 10.0}
SEQUENCE_GOAL = 30.0


def releases(data: Path) -> list[Path]:
    return (
        sorted((data / "un").glob("*.xml"))
        + sorted(p for p in (data / "ofac-sdn").iterdir() if p.is_dir())
        + sorted((data / "ofac-consolidated").glob("*.xml"))
    )


def import_one(path: Path, url: str) -> dict:
    """Runs in the child process: parse, then store, timing each."""
    from vigil import sources
    from vigil.store import Store
    from vigil.store.importing import content_hash

    store = Store(url)
    started = time.perf_counter()
    fmt, source = sources.detect(path)
    parsed = fmt.parse(path, source)
    parsed_at = time.perf_counter()
    result = store.import_list(parsed, content_hash(path), str(path))
    stored_at = time.perf_counter()
    return {
        "source": source,
        "entries": len(parsed.entries),
        "parse": parsed_at - started,
        "store": stored_at - parsed_at,
        "created": result.created,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--db", help="store URL (default: a new SQLite file)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(import_one(args.one, args.db)))
        return

    workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    url = args.db or f"sqlite:///{workdir / 'bench.db'}"
    table = Table(title=f"Import benchmark, {date.today()} (each file in a fresh process, one store)")
    for column in ("file", "source", "entries", "parse s", "store s", "total s", "peak MB", "goal"):
        table.add_column(column, justify="left" if column in ("file", "source", "goal") else "right")
    sequence_started = time.perf_counter()
    for path in releases(args.data):
        child = subprocess.run(
            [sys.executable, __file__, "--one", str(path), "--db", url], capture_output=True, text=True, check=True
        )
        row = json.loads(child.stdout)
        total = row["parse"] + row["store"]
        goal = GOALS.get(row["source"])
        verdict = "" if goal is None else f"< {goal:g} s: {'met' if total < goal else 'MISSED'}"
        table.add_row(
            f"{path.parent.name}/{path.name}", row["source"], f"{row['entries']:,}", f"{row['parse']:.2f}",
            f"{row['store']:.2f}", f"{total:.2f}", f"{row['peak_mb']:.0f}", verdict,
        )
    sequence = time.perf_counter() - sequence_started
    console = Console()
    console.print(table)
    verdict = "met" if sequence < SEQUENCE_GOAL else "MISSED"
    console.print(f"All releases in sequence, process start-up included: {sequence:.1f} s "
                  f"(goal < {SEQUENCE_GOAL:g} s: {verdict})")
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
        console.print(f"Store size on disk: {size / 1e6:.1f} MB "
                      f"(the releases themselves: {sum(_size(p) for p in releases(args.data)) / 1e6:.1f} MB)")


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size


if __name__ == "__main__":
    main()

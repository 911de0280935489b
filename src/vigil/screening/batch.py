"""Screening a file of parties: read queries, screen them in parallel, write hits as they come.

Input is CSV, JSON Lines or Parquet with columns ``id``, ``name`` and
optional ``kind``, ``dob``, ``country``, ``id_number``. A row that cannot be
screened is reported and skipped; a file that cannot be read at all raises
``InputError``. Hits are written chunk by chunk, so an error later keeps what
was written, and ``OUTPUT.summary.json`` records the list versions screened
against, the counts and the skipped rows.
"""

from __future__ import annotations

import csv
import gc
import itertools
import json
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from vigil.screening.query import Hit, Query
from vigil.screening.screener import DEFAULT_THRESHOLD, Screener
from vigil.store import ListVersion

COLUMNS = ("id", "name", "kind", "dob", "country", "id_number")
REQUIRED = ("id", "name")
HIT_COLUMNS = (
    "query_id", "entry_id", "score", "matched_name", "source", "reference",
    "explanation", "list_version", "features",
)
MAX_FIELD = 1000  # characters in any input field; longer is no name, date or number
CHUNK = 500  # queries per task sent to a worker
ROW_GROUP = 10_000  # hits per Parquet row group
MAX_REPORTED = 1000  # skipped rows listed in the summary (all are counted)

Progress = Callable[[int], None]


def _arrow() -> tuple[Any, Any]:
    """pyarrow and its Parquet module, loaded when a Parquet file is read or
    written: importing them costs every other command a tenth of a second."""
    import pyarrow
    import pyarrow.parquet

    return pyarrow, pyarrow.parquet


class InputError(ValueError):
    """A file that cannot be read as asked: wrong format, encoding or columns."""


@dataclass(frozen=True)
class RowError:
    """A row that was skipped: ``row`` is the line number in CSV and JSON Lines
    (the CSV header is line 1), the 1-based row number in Parquet."""

    row: int
    reason: str
    id: str | None = None


@dataclass
class ScreenSummary:
    input: str
    output: str
    versions: list[dict[str, Any]]  # source, id, published_on of each list version screened against
    queries: int = 0
    hits: int = 0
    skipped: int = 0
    skipped_rows: list[RowError] = field(default_factory=list)  # the first MAX_REPORTED
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    complete: bool = False
    error: str | None = None

    def skip(self, error: RowError) -> None:
        self.skipped += 1
        if len(self.skipped_rows) < MAX_REPORTED:
            self.skipped_rows.append(error)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- reading -------------------------------------------------------------------


def read_queries(path: Path | str, warn: Callable[[str], None] | None = None) -> Iterator[tuple[int, Query | RowError]]:
    """The file's rows, numbered as in RowError, as queries or as errors for rows that cannot be screened.

    Streams: CSV and JSON Lines line by line, Parquet by record batches.
    Unknown columns are ignored and reported once through ``warn``. Raises
    ``InputError`` for a missing file, an unknown extension, a missing ``id``
    or ``name`` column, or a file that is not UTF-8 (naming the line).
    """
    path = Path(path)
    readers = {".csv": _csv_rows, ".jsonl": _jsonl_rows, ".ndjson": _jsonl_rows, ".parquet": _parquet_rows}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise InputError(f"{path}: unknown input format; use .csv, .jsonl, .ndjson or .parquet")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    for row, values in reader(path, warn or (lambda message: None)):
        yield row, values if isinstance(values, RowError) else _query(row, values)


def _text(column: str, value: Any) -> tuple[str | None, str | None]:
    """A field as stripped text (None when empty), or the problem with it."""
    if isinstance(value, (date, datetime)):
        value = value.isoformat()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, f"{column} is not text but {type(value).__name__}"
    if len(value) > MAX_FIELD:
        return None, f"{column} is {len(value):,} characters long (at most {MAX_FIELD:,})"
    return value.strip() or None, None


def _query(row: int, values: dict[str, Any]) -> Query | RowError:
    fields: dict[str, str | None] = {}
    problems = []
    for column in COLUMNS:
        fields[column], problem = _text(column, values.get(column))
        if problem:
            problems.append(problem)
    query_id, name = fields.pop("id"), fields.pop("name")
    if problems:
        return RowError(row, "; ".join(problems), query_id)
    if not query_id:
        return RowError(row, "id is empty")
    if not name:
        return RowError(row, "name is empty", query_id)
    if not any(c.isalpha() for c in name):
        return RowError(row, f"name {name!r} has no letters", query_id)
    return Query(name=name, id=query_id, **fields)


def _lines(path: Path) -> Iterator[str]:
    """The file's lines decoded as UTF-8 (a BOM allowed); else an error naming the line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                raise InputError(
                    f"{path}: line {number} is not UTF-8 text (byte {raw[error.start]:#04x} at column "
                    f"{error.start + 1}); save the file as UTF-8"
                ) from None


def _columns(path: Path, names: list[str], warn: Callable[[str], None]) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"{path}: the column {', '.join(repeated)} appears more than once")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputError(f"{path}: no column {' or '.join(missing)}; the columns are: {', '.join(names) or '(none)'}")
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        warn(f"{path}: ignoring unknown columns: {', '.join(unknown)}")


def _csv_rows(path: Path, warn: Callable[[str], None]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    reader = csv.reader(_lines(path))
    header = next(reader, None)
    if header is None:
        raise InputError(f"{path}: the file is empty; the first line must name the columns")
    names = [name.strip().lower() for name in header]
    _columns(path, names, warn)
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield start, RowError(start, f"broken CSV row: {error}")
            continue
        if not fields:
            continue  # a blank line
        if len(fields) != len(names):
            lines = f" (lines {start}-{reader.line_num}: an unclosed quote?)" if reader.line_num > start else ""
            yield start, RowError(start, f"{len(fields)} fields where the header has {len(names)}{lines}")
            continue
        yield start, dict(zip(names, fields))


def _jsonl_rows(path: Path, warn: Callable[[str], None]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """JSON objects one a line; the first object must have ``id`` and ``name``."""
    known: set[str] = set(COLUMNS)
    first = True
    for number, line in enumerate(_lines(path), 1):
        if not line.strip():
            continue
        try:
            values = json.loads(line)
        except ValueError as error:
            yield number, RowError(number, f"not JSON: {error}")
            continue
        if not isinstance(values, dict):
            yield number, RowError(number, f"not a JSON object but {type(values).__name__}")
            continue
        values = {str(key).lower(): value for key, value in values.items()}
        if first:
            _columns(path, list(values), warn)
            known.update(values)
            first = False
        elif values.keys() - known:
            warn(f"{path}: line {number}: ignoring unknown fields: {', '.join(sorted(values.keys() - known))}")
            known.update(values)
        yield number, values


def _parquet_rows(path: Path, warn: Callable[[str], None]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    pa, pq = _arrow()
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{path}: not a readable Parquet file: {error}") from None
    names = parquet.schema_arrow.names
    lowered = [name.lower() for name in names]
    _columns(path, lowered, warn)
    wanted = [name for name in names if name.lower() in COLUMNS]
    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=CHUNK, columns=wanted):
            for values in batch.to_pylist():
                number += 1
                yield number, {key.lower(): value for key, value in values.items()}
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{path}: cannot read the rows after row {number}: {error}") from None


# -- writing -------------------------------------------------------------------


def hit_row(hit: Hit) -> dict[str, Any]:
    """One output row: the hit, its list version ("un:3") and its features as JSON text."""
    return {
        "query_id": hit.query_id,
        "entry_id": hit.entry_id,
        "score": round(hit.score, 4),
        "matched_name": hit.matched_name,
        "source": hit.source,
        "reference": hit.reference,
        "explanation": hit.explanation,
        "list_version": f"{hit.source}:{hit.version_id}",
        "features": json.dumps([asdict(f) for f in hit.features], ensure_ascii=False),
    }


class _JsonlWriter:
    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self.handle = path.open("w", encoding="utf-8")

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


class _CsvWriter:
    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self.handle = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.DictWriter(self.handle, columns)
        self.writer.writeheader()

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.writer.writerows(rows)
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


class _ParquetWriter:
    """Row groups of ROW_GROUP hits; the file is readable once closed."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        pa, pq = _arrow()
        self.schema = pa.schema([(c, pa.float64() if c == "score" else pa.string()) for c in columns])
        self.writer = pq.ParquetWriter(path, self.schema)
        self.rows: list[dict[str, Any]] = []

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.rows.extend(rows)
        if len(self.rows) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            pa, _ = _arrow()
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self.writer.close()


_WRITERS = {".jsonl": _JsonlWriter, ".ndjson": _JsonlWriter, ".csv": _CsvWriter, ".parquet": _ParquetWriter}


def output_format(path: Path | str) -> type:
    """The writer for an output path; InputError for an unknown extension."""
    writer = _WRITERS.get(Path(path).suffix.lower())
    if writer is None:
        raise InputError(f"{path}: unknown output format; use .jsonl, .ndjson, .csv or .parquet")
    return writer


def read_hits(path: Path | str) -> Iterator[dict[str, Any]]:
    """The rows of a results file written by ``screen_file`` (any of the three formats)."""
    path = Path(path)
    output_format(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        pa, pq = _arrow()
        try:
            for batch in pq.ParquetFile(path).iter_batches():
                yield from batch.to_pylist()
        except (pa.ArrowException, OSError) as error:
            raise InputError(f"{path}: not a readable Parquet file: {error}") from None
    elif suffix == ".csv":
        yield from csv.DictReader(_lines(path))
    else:
        for number, line in enumerate(_lines(path), 1):
            try:
                row = json.loads(line) if line.strip() else {}
            except ValueError as error:
                raise InputError(f"{path}: line {number} is not JSON: {error}") from None
            if not isinstance(row, dict):
                raise InputError(f"{path}: line {number} is not a JSON object")
            if row:
                yield row


def summary_path(output: Path | str) -> Path:
    output = Path(output)
    return output.with_name(output.name + ".summary.json")


def version_dict(version: ListVersion) -> dict[str, Any]:
    """How a list version is recorded in a summary."""
    return {"source": version.source, "id": version.id, "published_on": version.published_on.isoformat()}


# -- screening -----------------------------------------------------------------

_screener: Screener | None = None  # set before the pool forks: shared copy-on-write, never pickled


def _match_chunk(chunk: list[tuple[int, Query]], threshold: float, limit: int) -> tuple[list[Hit], list[RowError]]:
    """Hits for a chunk of queries, in order; a query the screener refuses is a RowError."""
    hits: list[Hit] = []
    errors: list[RowError] = []
    for row, query in chunk:
        try:
            hits.extend(_screener.match(query, threshold, limit))
        except ValueError as error:
            errors.append(RowError(row, str(error), query.id))
    return hits, errors


def _chunks(items: Iterable[tuple[int, Query | RowError]], summary: ScreenSummary) -> Iterator[list[tuple[int, Query]]]:
    """Numbered queries in chunks of CHUNK; skipped rows go to the summary.

    An InputError part-way ends the chunks and is kept in ``summary.error``,
    so that every query read before it is still screened and written.
    """
    chunk: list[tuple[int, Query]] = []
    try:
        for row, item in items:
            if isinstance(item, RowError):
                summary.skip(item)
                continue
            chunk.append((row, item))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
    except InputError as error:
        summary.error = str(error)
    if chunk:
        yield chunk


def _screened(
    screener: Screener, chunks: Iterable[list[tuple[int, Query]]], threshold: float, limit: int, workers: int
) -> Iterator[tuple[int, list[Hit], list[RowError]]]:
    """(queries, hits, errors) per chunk, in input order; at most 2 chunks per worker in flight."""
    global _screener
    _screener = screener
    try:
        if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
            for chunk in chunks:
                yield len(chunk), *_match_chunk(chunk, threshold, limit)
            return
        # Objects the index holds are moved out of the collector's reach, so
        # that collections in the workers neither scan them nor copy their pages.
        gc.collect()
        gc.freeze()
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pending: deque = deque()
            for chunk in chunks:
                pending.append((len(chunk), pool.apply_async(_match_chunk, (chunk, threshold, limit))))
                if len(pending) >= 2 * workers:
                    size, result = pending.popleft()
                    yield size, *result.get()
            for size, result in pending:
                yield size, *result.get()
    finally:
        _screener = None
        gc.unfreeze()


def open_queries(input: Path | str, output: Path | str, summary: ScreenSummary) -> Iterator[tuple[int, Query | RowError]]:
    """The input's numbered queries, its header already checked, so that a file
    that cannot be read fails before the output is created."""
    output_format(output)
    if Path(output).resolve() == Path(input).resolve():
        raise InputError(f"{output}: the output would overwrite the input")
    items = read_queries(input, summary.warnings.append)
    first = next(items, None)
    return itertools.chain([first], items) if first else iter(())


@contextmanager
def writing(output: Path | str, columns: tuple[str, ...], summary: ScreenSummary) -> Iterator[Any]:
    """A writer for ``output``; on leaving, even by an error, it is closed and
    the summary is timed and written beside it."""
    start = time.monotonic()
    writer = output_format(output)(Path(output), columns)
    try:
        yield writer
        summary.complete = summary.error is None
    finally:
        writer.close()
        summary.seconds = round(time.monotonic() - start, 3)
        summary.skipped_rows.sort(key=lambda e: e.row)
        text = json.dumps(summary.to_dict(), ensure_ascii=False, indent=2, default=str)
        summary_path(output).write_text(text + "\n", encoding="utf-8")


def screen_into(
    writer: Any,
    screener: Screener,
    items: Iterable[tuple[int, Query | RowError]],
    summary: ScreenSummary,
    to_row: Callable[[Hit], dict[str, Any]] = hit_row,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = 10,
    workers: int | None = None,
    progress: Progress | None = None,
) -> None:
    """Screen ``items`` and write their hits chunk by chunk, counting into ``summary``."""
    workers = workers or os.cpu_count() or 1
    for size, hits, errors in _screened(screener, _chunks(items, summary), threshold, limit, workers):
        writer.write([to_row(hit) for hit in hits])
        summary.queries += size - len(errors)
        summary.hits += len(hits)
        for error in errors:
            summary.skip(error)
        if progress:
            progress(size)


def screen_file(
    screener: Screener,
    input: Path | str,
    output: Path | str,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = 10,
    workers: int | None = None,
    progress: Progress | None = None,
) -> ScreenSummary:
    """Screen every row of ``input``; write one row per hit to ``output`` (JSON
    Lines, CSV or Parquet by extension) and the summary to ``OUTPUT.summary.json``.

    ``workers`` processes (default: every core) screen chunks of CHUNK rows;
    ``progress`` is called with the number of rows done after each chunk.
    Raises InputError for a file that cannot be read; when that happens
    part-way, the rows before it are screened and written, and the summary
    says where it stopped (``complete`` false, ``error``).
    """
    summary = ScreenSummary(str(input), str(output), [version_dict(v) for v in screener.versions])
    items = open_queries(input, output, summary)
    with writing(output, HIT_COLUMNS, summary) as writer:
        screen_into(writer, screener, items, summary, hit_row, threshold, limit, workers, progress)
    if summary.error:
        raise InputError(summary.error)
    return summary

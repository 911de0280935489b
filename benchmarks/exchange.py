"""Partner exchange benchmark: messages per second and latency between two nodes.

Prints one table: messages/s and latency p50/p95/p99 for notes of 1 KB and
1 MB sent from node A to node B, one at a time and from several senders at once.

* Node B: `vigil serve` in its own process over a new SQLite database, over
  HTTPS with a self-signed certificate for 127.0.0.1 (trusted through
  VIGIL_TLS_CA), or over plain HTTP with ``--http`` or when no certificate
  can be made; the output says which. One worker, default settings.
* Node A: this process, through the Python API, over its own SQLite
  database. One message, timed end to end: the text made into a STIX note
  (``bodies.prepare``), sealed, signed, stored and queued (``Mailbox.send``),
  then ``transport.deliver_pending``: one signed POST to B's /exchange/inbox,
  where B checks, opens, validates, stores and logs it and answers with its
  signed receipt; A checks the receipt's inclusion and consistency proofs,
  keeps it, and posts its countersignature of B's tree head straight away.
  So each message is two HTTPS round trips and both logs grow by two entries.
* sequential: A sends one message after another. concurrent: ``--senders``
  nodes (A1, A2, ..., each its own database and thread in this process, each
  B's partner) send at once; messages/s over all of them. The senders share
  this process's interpreter lock and B is one worker: this shows what B
  takes in from several partners, not a scaled-out node.
* Every message's text is different (random). Checks, at the end: every
  delivery report said the message was delivered, B's inbox holds every
  message, every sender holds B's receipt for each, and both sides' logs,
  signatures, receipts and countersignatures verify.

    python benchmarks/exchange.py [--small 300] [--large 30] [--senders 4] [--http]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import cryptography
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS.parent / "tests"))

from test_exchange_nodes import PASSPHRASE, NodeServer, Tls, write_certificate  # noqa: E402

from vigil.exchange import bodies, queue, receipts  # noqa: E402
from vigil.exchange.identity import NodeKeys  # noqa: E402
from vigil.exchange.mailbox import Mailbox  # noqa: E402
from vigil.exchange.node import Node  # noqa: E402
from vigil.exchange.tables import log_leaves, outbox  # noqa: E402
from vigil.exchange.transport import deliver_pending  # noqa: E402
from vigil.handlers import all_handlers  # noqa: E402
from vigil.store.database import make_engine  # noqa: E402

SIZES = {"1 KB": 1 << 10, "1 MB": 1 << 20}  # bytes of note text
TLP = "AMBER"
RETRIES = 3  # per message, before the benchmark gives up


class DeliveryError(RuntimeError):
    """A message the benchmark sent that B did not take."""


@dataclass
class Sender:
    name: str
    mailbox: Mailbox
    keys: NodeKeys


@dataclass
class Run:
    body: str
    mode: str
    senders: int
    envelope_bytes: int  # of the last message's envelope, as JSON
    latencies: list[float]  # seconds, one per message
    seconds: float  # wall time of the whole run
    failures: list[str]  # what failed deliveries reported (each tried again at once)
    log: tuple[int, int]  # B's log entries before and after the run

    def tenth_ms(self, last: bool) -> float:
        """The median latency of the first (or last) tenth of the messages, in the order they finished."""
        tenth = max(1, len(self.latencies) // 10)
        return statistics.median(self.latencies[-tenth:] if last else self.latencies[:tenth]) * 1000

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile_ms(self, share: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[share - 1] * 1000


def text_of(size: int) -> bytes:
    """``size`` bytes of random text, in lines: every message different."""
    raw = base64.b64encode(os.urandom(size))[:size]
    return b"\n".join(raw[i : i + 99] for i in range(0, size, 100))[:size].ljust(size, b".")


def make_sender(folder: Path, name: str, b: Node, b_url: str) -> Sender:
    node = Node(make_engine(f"sqlite:///{folder / name}.db", serialized=True))  # as the CLI and the service open a node
    identity = node.init(PASSPHRASE, name)
    node.add_partner(b.identity(), "B", address=b_url)
    b.add_partner(identity, name)
    return Sender(name, Mailbox(node, all_handlers()), node.keys(PASSPHRASE))


def delivered(sender: Sender, message_id: str, report: str) -> bool:
    """Whether B took the message (the report may also count other envelopes that were waiting)."""
    with sender.mailbox.engine.connect() as conn:
        at = conn.execute(select(outbox.c.delivered_at).where(outbox.c.message_id == message_id, outbox.c.partner == "B")).scalar()
    return at is not None and report.startswith("delivered ")


def send_one(sender: Sender, text: bytes) -> tuple[float, int, list[str]]:
    """One message to B, end to end: seconds taken, the envelope's size, and
    why deliveries had to be tried again (at once, as `vigil exchange deliver` does)."""
    started = time.perf_counter()
    content = bodies.prepare("note", text, TLP)
    envelope = sender.mailbox.send(sender.keys, ["B"], "note", content, TLP)
    failures = []
    while not delivered(sender, envelope.header.id, report := deliver_pending(sender.mailbox, sender.keys, ["B"])):
        failures.append(report)
        if len(failures) > RETRIES:
            raise DeliveryError(f"{sender.name}: message {envelope.header.id} not delivered: {' / '.join(failures)}")
    taken = time.perf_counter() - started
    return taken, len(json.dumps(envelope.to_dict())), failures


def log_size(b: Node) -> int:
    with b.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(log_leaves)).scalar_one()


def run(body: str, size: int, senders: list[Sender], count: int, b: Node) -> Run:
    """``count`` messages of ``size`` bytes, spread over ``senders`` sending at once."""
    share = [count // len(senders) + (i < count % len(senders)) for i in range(len(senders))]
    texts = [[text_of(size) for _ in range(n)] for n in share]
    latencies: list[float] = []
    sizes: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def send_all(sender: Sender, own: list[bytes]) -> None:
        for text in own:
            taken, envelope_bytes, failed = send_one(sender, text)
            with lock:
                latencies.append(taken)
                sizes.append(envelope_bytes)
                failures.extend(failed)

    before = log_size(b)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(senders)) as pool:
        for future in [pool.submit(send_all, sender, own) for sender, own in zip(senders, texts, strict=True)]:
            future.result()
    seconds = time.perf_counter() - started
    mode = "sequential" if len(senders) == 1 else "concurrent"
    return Run(body, mode, len(senders), sizes[-1], latencies, seconds, failures, (before, log_size(b)))


def check(b: Mailbox, senders: list[Sender], sent: int) -> list[str]:
    """What does not hold after the runs (nothing, when all went well)."""
    problems = []
    if (kept := sum(1 for m in b.inbox() if m.type == "note")) != sent:
        problems.append(f"B's inbox holds {kept} notes, {sent} were sent")
    for sender in senders:
        deliveries = [d for d in queue.deliveries(sender.mailbox) if d.type == "note"]
        if missing := [d.message_id for d in deliveries if not d.receipt]:
            problems.append(f"{sender.name} holds no receipt for {len(missing)} of its {len(deliveries)} messages")
        _, found = receipts.verify_held(sender.mailbox.node)
        problems += [f"{sender.name}: {p}" for p in sender.mailbox.verify_stored() + found]
    _, found = receipts.verify_held(b.node)
    problems += [f"B: {p}" for p in b.verify_stored() + found]
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=300, help="1 KB messages per run")
    parser.add_argument("--large", type=int, default=30, help="1 MB messages per run")
    parser.add_argument("--senders", type=int, default=4, help="sender nodes in the concurrent runs")
    parser.add_argument("--warmup", type=int, default=10, help="1 KB messages sent before measuring")
    parser.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS")
    args = parser.parse_args()
    if min(args.small, args.large) < 2 or args.senders < 2:
        parser.error("at least 2 messages per run and 2 senders")

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    load_before = os.getloadavg()
    console.print(f"Partner exchange, {date.today()}, {platform.machine()}, {os.cpu_count()} CPUs, Python "
                  f"{platform.python_version()}, cryptography {cryptography.__version__}, load average "
                  f"{load_before[0]:.2f} at start", highlight=False)

    workdir = Path(tempfile.mkdtemp(prefix="vigil-exchange-bench-"))
    tls: Tls | None = None
    transport = "HTTP (asked for with --http)"
    if not args.http:
        try:
            tls = write_certificate(workdir)
            transport = "HTTPS (TLS, self-signed certificate for 127.0.0.1)"
        except Exception as error:  # noqa: BLE001 - any reason TLS cannot be set up means plain HTTP, said below
            transport = f"HTTP (no certificate could be made: {error})"
    if tls is not None:
        os.environ["VIGIL_TLS_CA"] = str(tls.cert)  # for this process's deliveries to B
    b_server = NodeServer("B", workdir, tls)
    b_node = Node(make_engine(b_server.db_url))
    b_node.init(PASSPHRASE, "B")
    senders = [make_sender(workdir, f"A{i}" if i else "A", b_node, b_server.url) for i in range(args.senders)]
    runs: list[Run] = []
    try:
        b_server.start()
        for _ in range(args.warmup):
            send_one(senders[0], text_of(SIZES["1 KB"]))
        for body, count in (("1 KB", args.small), ("1 MB", args.large)):
            runs.append(run(body, SIZES[body], senders[:1], count, b_node))
            runs.append(run(body, SIZES[body], senders, count, b_node))
        b_server.stop()
        sent = args.warmup + sum(len(r.latencies) for r in runs)
        b_mailbox = Mailbox(b_node, all_handlers())
        problems = check(b_mailbox, senders, sent)
        b_log = len(b_mailbox.log.leaves())
    except DeliveryError as error:
        b_server.stop()
        sys.exit(f"{error}\nB's server log:\n{b_server.log.read_text()[-4000:]}")
    finally:
        b_server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    table = Table(title=f"Notes from A to B over {transport.split(' ')[0]}: vigil serve (1 worker), Python API "
                        "sender, end to end with the signed receipt; latency in ms")
    for column in ("body", "run", "senders", "messages", "envelope", "msg/s", "MB/s", "p50", "p95", "p99",
                   "p50 first → last tenth", "B's log", "retried"):
        table.add_column(column, justify="left" if column in ("body", "run") else "right", no_wrap=True)
    for r in runs:
        table.add_row(r.body, r.mode, str(r.senders), f"{len(r.latencies):,}", f"{r.envelope_bytes / 1024:,.1f} KiB",
                      f"{r.per_second:,.1f}", f"{r.per_second * SIZES[r.body] / 1e6:,.2f}",
                      f"{r.percentile_ms(50):,.1f}", f"{r.percentile_ms(95):,.1f}", f"{r.percentile_ms(99):,.1f}",
                      f"{r.tenth_ms(False):,.1f} → {r.tenth_ms(True):,.1f}", f"{r.log[0]:,} → {r.log[1]:,}",
                      str(len(r.failures)))
    console.print(table)

    load_after = os.getloadavg()
    verdict = "all hold" if not problems else "PROBLEMS: " + "; ".join(problems[:5])
    notes = [
        f"Transport: {transport}.",
        (f"Messages: {sent:,} notes sent ({args.warmup} of them as warm-up), marked TLP:{TLP}, each a different "
         f"random text; 1 KB = {SIZES['1 KB']:,} and 1 MB = {SIZES['1 MB']:,} bytes of text before the STIX "
         f"wrapping; envelope: the last message's envelope as sent (base64 of the ciphertext, sealed keys, "
         f"signed header). Concurrent: {args.senders} sender nodes, each sending its share in turn."),
        (f"Checks: every message delivered{' (some after a retry, see below)' if any(r.failures for r in runs) else ''}; "
         f"B's inbox, every receipt, both sides' "
         f"logs, signatures, receipts and countersignatures: {verdict}. B's log ended at {b_log:,} entries "
         f"(messages and countersignatures received, receipts sent). MB/s: of note text."),
        (f"Latency: from before the text is made into a note to after deliver_pending returns (sealing, storing, "
         f"two HTTPS round trips, the receipt's proofs checked). p50 first → last tenth: the median of the run's "
         f"first and last tenth of messages, as B's log (and the sender's) grew: each signed tree head, receipt "
         f"and proof is computed from every leaf of the log. {os.cpu_count()} CPUs shared by B's server and this "
         f"process; load average {load_before[0]:.2f} at start, {load_after[0]:.2f} at the end."),
    ]
    failures = [f for r in runs for f in r.failures]
    if failures:
        notes.append(f"Retried: {len(failures)} deliveries failed and were tried again at once (their time is in the "
                     f"latency); the first said: {failures[0]}")
    for note in notes:
        console.print(note, highlight=False)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()

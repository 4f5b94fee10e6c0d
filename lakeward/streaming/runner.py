"""Running a stream: poll, write a micro-batch, report, until stopped or (``available-now``) drained.

The loop is the same for every source lakeward consumes itself (Kinesis over its API, a landing
folder); sources Spark consumes (Kafka, Glue's connectors) call the same micro-batch function from
``foreachBatch``. A stop (Ctrl-C, SIGTERM, or ``stop.set()``) is honoured between micro-batches: the
one in flight is committed first. A micro-batch that fails is retried with the same messages and the
same batch number (a replay of a committed one is a no-op), up to ``retries`` times.
"""
from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from lakeward.errors import ConcurrentWriteError, LakewardError
from lakeward.ingest.report import RunReport
from lakeward.runtime.storage import to_uri
from lakeward.streaming.kinesis import KinesisReader, Message
from lakeward.streaming.messages import MESSAGE_SCHEMA, key_order
from lakeward.streaming.micro_batch import StreamSink
from lakeward.streaming.warm_up import warm_up


@dataclass
class BatchSummary:
    batch: int
    rows_read: int
    rows_written: int
    rows_quarantined: int
    duration_s: float
    committed_at: float
    schema_changes: list[str] = field(default_factory=list)
    lag_ms: dict[str, int] = field(default_factory=dict)  # Kinesis: MillisBehindLatest per shard
    lag_records: dict[str, int] = field(default_factory=dict)  # Kafka: records behind the end per partition
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step of the core (plan, write, commit)
    compacted: list[str] = field(default_factory=list)  # partitions whose small files were compacted after it


@dataclass
class StreamReport:
    table: str
    source: str
    consumer: str
    batches: list[BatchSummary] = field(default_factory=list)
    quarantine_location: str | None = None
    replayed: list[int] = field(default_factory=list)  # batch numbers found committed already (no-ops)
    stopped_by: str = "drained"
    warm_up_s: float | None = None  # the JVM warmed before the first micro-batch (continuous triggers)

    @property
    def rows_read(self) -> int:
        return sum(b.rows_read for b in self.batches)

    @property
    def rows_written(self) -> int:
        return sum(b.rows_written for b in self.batches)

    @property
    def rows_quarantined(self) -> int:
        return sum(b.rows_quarantined for b in self.batches)

    def add(self, batch: int, report: RunReport, lag: dict[str, int]) -> BatchSummary:
        if report.already_committed:
            self.replayed.append(batch)
        summary = BatchSummary(batch, report.rows_read, report.rows_written, report.rows_quarantined,
                               round(report.duration_s, 3), time.time(), list(report.schema_changes), dict(lag),
                               {k: round(v, 3) for k, v in report.timings.items()})
        self.batches.append(summary)
        self.quarantine_location = report.quarantine_location or self.quarantine_location
        return summary

    def to_dict(self) -> dict[str, Any]:
        return {"rows_read": self.rows_read, "rows_written": self.rows_written,
                "rows_quarantined": self.rows_quarantined, **asdict(self)}

    def save(self, path: str | Path) -> None:
        import json

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, default=str))


Status = Callable[[StreamReport, BatchSummary], None]


@dataclass(frozen=True)
class Accumulation:
    """When a micro-batch is written: once it holds ``min_records`` (0: whatever a trigger brings), or once
    its oldest record has waited ``max_delay_s`` (Kafka: since the last micro-batch, Spark's rule), or (the
    Kinesis consumer) when the stream stops or is drained. Records held back are not committed, so a
    consumer that dies reads them again."""
    min_records: int = 0
    max_delay_s: float = 60.0

    def ready(self, records: int, waited_s: float) -> bool:
        return records >= self.min_records or waited_s >= self.max_delay_s


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM set ``stop`` (the micro-batch in flight is committed first); a second Ctrl-C
    interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    for s in previous:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _retrying(write: Callable[[], RunReport], retries: int) -> RunReport:
    for attempt in range(retries + 1):
        try:
            return write()
        except LakewardError as e:
            if not isinstance(e, ConcurrentWriteError):
                raise  # the input or the setup is wrong: retrying cannot help
            if attempt == retries:
                raise
        except Exception:
            if attempt == retries:
                raise
            time.sleep(min(2.0 ** attempt, 10.0))
    raise AssertionError("unreachable")


def warm(spark: SparkSession, report: StreamReport, trigger_s: float | None) -> None:
    """Warm the JVM before a continuous stream's first micro-batch (a drain has no latency to keep)."""
    if trigger_s is None:
        return
    try:
        report.warm_up_s = warm_up(spark)
    except Exception:  # noqa: BLE001 - only an optimisation: a Spark that is really broken fails the micro-batch
        report.warm_up_s = None


def after_commit(sink: StreamSink, report: StreamReport, summary: BatchSummary, status: Status | None) -> None:
    """What follows a committed micro-batch: compaction when due, then the status line."""
    if sink.compact_due(summary.batch) and not report.replayed[-1:] == [summary.batch]:
        summary.compacted = sink.compact()
    if status:
        status(report, summary)


def run_kinesis(spark: SparkSession, sink: StreamSink, stream: str, trigger_s: float | None,
                stop: threading.Event, start: str = "trim_horizon", status: Status | None = None,
                retries: int = 3, limit_per_shard: int = 10_000, accumulation: Accumulation = Accumulation()
                ) -> StreamReport:
    """Consume a Kinesis stream (name or ARN) into the sink's table; ``trigger_s`` None: available-now
    (drain what is there, then return)."""
    resumed = sink.resume()
    reader = KinesisReader(sink.aws.client("kinesis"), stream, resumed.offsets if resumed else None, start,
                           limit_per_shard)
    report = StreamReport(sink.request.table, f"kinesis://{reader.name}", sink.stream.consumer)
    batch = resumed.batch + 1 if resumed else 0
    warm(spark, report, trigger_s)
    pending: list[Message] = []
    since = 0.0
    poll = None

    def write() -> None:
        nonlocal batch
        rows = [(m.value, m.source, m.position, m.key, m.arrival_time) for m in pending]
        frame = spark.createDataFrame(rows, MESSAGE_SCHEMA)
        order = key_order([m.value for m in pending])
        result = _retrying(lambda: sink.write_messages(frame, batch, poll.positions, report.source, order), retries)
        after_commit(sink, report, report.add(batch, result, poll.lag_ms), status)
        batch += 1
        pending.clear()

    while not stop.is_set():
        started = time.monotonic()
        poll = reader.poll()
        if poll.messages and not pending:
            since = started
        pending.extend(poll.messages)
        drained = trigger_s is None and poll.caught_up
        if pending and (drained or accumulation.ready(len(pending), time.monotonic() - since)):
            write()
        if drained:
            break
        if trigger_s is not None:
            stop.wait(max(0.0, trigger_s - (time.monotonic() - started)))
    if pending:  # stopped while records were held back: they are the micro-batch in flight
        write()
    report.stopped_by = "stop" if stop.is_set() else "drained"
    return report


def run_files(sink: StreamSink, folder: str, trigger_s: float | None, stop: threading.Event,
              status: Status | None = None, retries: int = 3) -> StreamReport:
    """Take the files that land under ``folder`` (what Firehose or DataSync deliver), a micro-batch per
    trigger; the table's ledger is the position."""
    source = to_uri(folder)
    resumed = sink.resume()
    report = StreamReport(sink.request.table, source, sink.stream.consumer)
    batch = resumed.batch + 1 if resumed else 0
    taken = int(resumed.offsets.get("files", 0)) if resumed else 0
    while not stop.is_set():
        started = time.monotonic()
        result = _retrying(lambda: sink.write_files(source, batch, taken), retries)
        if result.batch_id:
            taken += sum(1 for f in result.files if f.status != "skipped")
            after_commit(sink, report, report.add(batch, result, {}), status)
            batch += 1
        elif trigger_s is None:
            break
        if trigger_s is not None:
            stop.wait(max(0.0, trigger_s - (time.monotonic() - started)))
    report.stopped_by = "stop" if stop.is_set() else "drained"
    return report

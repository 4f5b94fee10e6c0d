"""The stream front door: one micro-batch (messages, or the files that landed) into the table, exactly once.

Every micro-batch enters the ingestion core like a batch of files: the same inference, names, evolution,
quarantine, PII classification and commit. It carries the consumer's batch number as its idempotency
key (``<consumer>-<n>``) and the consumer's positions, committed with the data in one step (the Delta
transaction with the app transaction ``lakeward:consumer:<name>``, or the Parquet ledger record), so a
replayed micro-batch is a no-op and a restart resumes where the last commit left off. The table's lock
is held for one micro-batch at a time: a backfill (``lakeward ingest``) into the same table interleaves
between micro-batches, and each writer's files are its own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession

from lakeward.errors import SpecError
from lakeward.ingest.batch import RawBatch
from lakeward.ingest.files import select_and_read
from lakeward.quality.results import recorded
from lakeward.ingest.report import RunReport
from lakeward.ingest.request import IngestRequest
from lakeward.ingest.table_writer import TableWriter
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings
from lakeward.runtime.storage import join
from lakeward.streaming.messages import DEFAULT_MAX_BYTES, PayloadFormat, message_part
from lakeward.tables.ledger import StreamPositions
from lakeward.tables.maintenance import run_optimize

_CONSUMER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class StreamSettings:
    consumer: str
    payload: PayloadFormat = "json"
    with_metadata: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    compact_every: int = 50  # micro-batches between compactions of the table's small files (0: never)

    def check(self, spell: str = "--consumer") -> None:
        if not _CONSUMER.match(self.consumer):
            raise SpecError(f"{spell} {self.consumer!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a "
                            "letter or digit")


class StreamSink:
    """The table a stream's micro-batches go to, one locked table session per micro-batch."""

    def __init__(self, spark: SparkSession, aws: AwsContext, request: IngestRequest, settings: Settings,
                 stream: StreamSettings):
        stream.check()
        request.check()
        self.spark, self.aws, self.request, self.settings, self.stream = spark, aws, request, settings, stream

    def resume(self) -> StreamPositions | None:
        """Where this consumer's last committed micro-batch left off (after completing or rolling back a
        micro-batch whose writer died), or None for a new consumer."""
        with TableWriter(self.spark, self.aws, self.request, self.settings, purpose="stream") as writer:
            return writer.ledger_state.positions.get(self.stream.consumer)

    def compact_due(self, batch: int) -> bool:
        return bool(self.stream.compact_every) and (batch + 1) % self.stream.compact_every == 0

    def compact(self) -> list[str]:
        """Compact the small files the micro-batches left (lakeward optimize, under the same lock, so it
        runs between micro-batches); the partitions compacted."""
        return run_optimize(self.spark, self.aws, self.request.table, self.settings).compacted

    def default_checkpoint(self) -> str:
        """Where a Spark-driven stream keeps its checkpoint when none is given: with the table."""
        with TableWriter(self.spark, self.aws, self.request, self.settings, dry_run=True) as writer:
            return join(writer.table_uri, "_lakeward", "checkpoints", self.stream.consumer)

    def batch_id(self, batch: int) -> str:
        return f"{self.stream.consumer}-{batch}"

    def write_messages(self, messages: DataFrame, batch: int, offsets: dict[str, str], origin: str,
                       order: list[str] | None = None) -> RunReport:
        part = message_part(self.spark, messages, self.stream.payload, self.stream.with_metadata, self.stream.max_bytes,
                            order)
        return self._ingest(RawBatch([part], origin=origin), batch, offsets)

    def write_files(self, source_uri: str, batch: int, taken: int) -> RunReport:
        """The files that landed under ``source_uri`` since the table last took files from it (the
        ledger is the file stream's position: a file a backfill took is not taken twice)."""
        def run() -> RunReport:
            with TableWriter(self.spark, self.aws, self.request, self.settings, purpose="stream") as writer:
                report = RunReport(writer.qualified_name, str(writer.request.format), None, writer.table_uri)
                raw = select_and_read(self.spark, writer.storage, source_uri, writer.ledger_state, report,
                                      writer.request.changed_files or "hold")
                if raw.empty:
                    return report
                files = taken + len(raw.unreadable) + sum(len(p.files) for p in raw.parts)
                return writer.ingest(raw, self.batch_id(batch),
                                     StreamPositions(self.stream.consumer, batch, {"files": files}), report)

        return recorded(self.spark, self.aws, self.settings, self.request, run)

    def _ingest(self, raw: RawBatch, batch: int, offsets: dict[str, str]) -> RunReport:
        def run() -> RunReport:
            with TableWriter(self.spark, self.aws, self.request, self.settings, purpose="stream") as writer:
                self._check_sequence(writer.ledger_state.positions.get(self.stream.consumer), batch, offsets)
                return writer.ingest(raw, self.batch_id(batch), StreamPositions(self.stream.consumer, batch, offsets))

        return recorded(self.spark, self.aws, self.settings, self.request, run)

    def _check_sequence(self, last: StreamPositions | None, batch: int, offsets: dict[str, str]) -> None:
        """A micro-batch number behind the consumer's last commit, or that number again with other
        positions, means the stream's own checkpoint was reset: taking it as a replay would drop data."""
        if last is None or batch > last.batch or batch == last.batch and offsets == last.offsets:
            return
        raise SpecError(f"consumer {self.stream.consumer} of table {self.request.table} committed micro-batch "
                        f"{last.batch} (positions {last.offsets}); micro-batch {batch} with positions {offsets} comes "
                        "from a reset checkpoint. Restore the checkpoint, or start a new consumer (--consumer) and "
                        "accept that it reads the stream from its starting position")

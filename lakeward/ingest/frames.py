"""The DataFrame front door: a batch that is already read (a stream's micro-batch, a frame a job built)
normalised, evolved, classified, written, committed, registered and governed like files are.

    report = ingest_frame(spark, aws, IngestRequest("sales.orders", format="delta"), df, batch_id="2024-03-01")

``batch_id`` is the idempotency key: a batch id the table committed before is a no-op. ``positions``
(a stream consumer's offsets) are committed atomically with the batch.
"""
from __future__ import annotations

from py4j.protocol import Py4JError
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession

from lakeward.ingest.batch import RawBatch, frame_part
from lakeward.ingest.report import RunReport
from lakeward.ingest.request import IngestRequest
from lakeward.ingest.table_writer import TableWriter
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings
from lakeward.tables.ledger import SourceEntry, StreamPositions


def estimated_bytes(frame: DataFrame) -> int | None:
    """Spark's own estimate of a frame's size (exact for cached and file-backed frames), or None when it
    has none (it then says Long.MaxValue)."""
    try:
        size = int(str(frame._jdf.queryExecution().optimizedPlan().stats().sizeInBytes()))
    except Py4JError:
        return None
    return size if size < 2**62 else None


def frame_batch(frame: DataFrame, source: str | SparkColumn = "frame", input_bytes: int | None = None,
                sources: list[SourceEntry] | None = None) -> RawBatch:
    """A caller's DataFrame as a batch; ``source`` labels its rows in the report (one label or a column).
    ``input_bytes`` sizes the write (a batch under one file's size is written by one task, no shuffle);
    by default Spark's estimate."""
    origin = source if isinstance(source, str) else "frame"
    size = input_bytes if input_bytes is not None else estimated_bytes(frame)
    return RawBatch([frame_part(frame, source)], sources=list(sources or []), input_bytes=size, origin=origin)


def ingest_frame(spark: SparkSession, aws: AwsContext, request: IngestRequest, frame: DataFrame,
                 batch_id: str | None = None, positions: StreamPositions | None = None,
                 settings: Settings | None = None, source: str | SparkColumn = "frame") -> RunReport:
    from lakeward.quality.results import recorded  # it writes through this front door

    settings = settings or Settings.load()

    def run() -> RunReport:
        with TableWriter(spark, aws, request, settings) as writer:
            return writer.ingest(frame_batch(frame, source), batch_id, positions)

    return recorded(spark, aws, settings, request, run)

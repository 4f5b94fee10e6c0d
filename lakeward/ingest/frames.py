"""The DataFrame front door: a batch that is already read (a stream's micro-batch, a frame a job built)
normalised, evolved, classified, written, committed, registered and governed like files are.

    report = ingest_frame(spark, aws, IngestRequest("sales.orders", format="delta"), df, batch_id="2024-03-01")

``batch_id`` is the idempotency key: a batch id the table committed before is a no-op. ``positions``
(a stream consumer's offsets) are committed atomically with the batch.
"""
from __future__ import annotations

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession

from lakeward.ingest.batch import RawBatch, frame_part
from lakeward.ingest.report import RunReport
from lakeward.ingest.request import IngestRequest
from lakeward.ingest.table_writer import TableWriter
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings
from lakeward.tables.ledger import SourceEntry, StreamPositions


def frame_batch(frame: DataFrame, source: str | SparkColumn = "frame", input_bytes: int | None = None,
                sources: list[SourceEntry] | None = None) -> RawBatch:
    """A caller's DataFrame as a batch; ``source`` labels its rows in the report (one label or a column)."""
    origin = source if isinstance(source, str) else "frame"
    return RawBatch([frame_part(frame, source)], sources=list(sources or []), input_bytes=input_bytes, origin=origin)


def ingest_frame(spark: SparkSession, aws: AwsContext, request: IngestRequest, frame: DataFrame,
                 batch_id: str | None = None, positions: StreamPositions | None = None,
                 settings: Settings | None = None, source: str | SparkColumn = "frame") -> RunReport:
    with TableWriter(spark, aws, request, settings or Settings.load()) as writer:
        return writer.ingest(frame_batch(frame, source), batch_id, positions)

"""A read batch: what every front door hands to the ingestion core (lakeward.ingest.table_writer).

Files are read in parts, one per group of files sharing a format and its options; a DataFrame from the
caller (a Kafka or Kinesis micro-batch, a file-stream batch, a frame built in a test) is one part. Every
part carries the bookkeeping columns (lakeward.engines.bookkeeping): the source of each row, the raw
text of a record the reader could not parse, and for files the size and time of the bytes read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeward.engines.bookkeeping import (
    BOOKKEEPING,
    CORRUPT_COL,
    FILE_COL,
    LABEL_COL,
    MTIME_COL,
    PROBLEM_COL,
    SIZE_COL,
)
from lakeward.errors import SourceError
from lakeward.ingest.sources import SourceFile
from lakeward.tables.ledger import SourceEntry


@dataclass
class RawPart:
    df: DataFrame  # raw columns, then the bookkeeping columns
    kind: str  # jsonl | json | csv | parquet | frame: how a record that did not parse is described
    files: list[SourceFile] = field(default_factory=list)  # the files read (per-file type attribution)

    @property
    def data_columns(self) -> list[T.StructField]:
        return [f for f in self.df.schema.fields if f.name not in BOOKKEEPING]


@dataclass
class RawBatch:
    parts: list[RawPart]
    sources: list[SourceEntry] = field(default_factory=list)  # what the ledger records as taken
    unreadable: list[SourceFile] = field(default_factory=list)  # files quarantined whole, unread
    empty_files: list[SourceFile] = field(default_factory=list)  # zero-byte files: no rows, recorded as taken
    changed: set[str] = field(default_factory=set)  # sources taken again because their content changed
    taken: int = 0  # files selected from the source (an empty batch of taken files is empty input, not "nothing new")
    input_bytes: int | None = None  # the raw size, when known (sizes the write)
    origin: str = "frame"  # recorded with new columns (lakeward.source): the source folder or stream

    @property
    def empty(self) -> bool:
        """Nothing to write, quarantine or record."""
        return not self.parts and not self.unreadable and not self.empty_files

    @property
    def rowless(self) -> bool:
        """No rows to write or quarantine (zero-byte files, if any, are only recorded as taken)."""
        return not self.parts and not self.unreadable


def frame_part(df: DataFrame, source: str | SparkColumn = "frame", kind: str = "frame") -> RawPart:
    """A caller's DataFrame as a part of a batch: ``source`` names where its rows came from, one label
    (``kafka://orders``) or a column expression per row (the topic and partition). A column holding the
    raw text of a record that could not be parsed may be given as ``__lakeward_corrupt``, and why as
    ``__lakeward_problem``; a label per row as ``__lakeward_label``."""
    reserved = [c for c in df.columns if c in BOOKKEEPING and c not in (CORRUPT_COL, PROBLEM_COL)
                or c == "_metadata"]
    if reserved:
        raise SourceError(f"the frame has a column named {reserved[0]!r}, which lakeward reserves; rename it")
    label: Any = F.lit(source) if isinstance(source, str) else source
    corrupt = F.col(CORRUPT_COL).cast("string") if CORRUPT_COL in df.columns else F.lit(None).cast("string")
    if LABEL_COL in df.columns:  # a label per row, computed by the caller
        label = F.col(LABEL_COL)
    data = [F.col("`" + c.replace("`", "``") + "`") for c in df.columns if c not in (CORRUPT_COL, PROBLEM_COL, LABEL_COL)]
    problem = [F.col(PROBLEM_COL).cast("string")] if PROBLEM_COL in df.columns else []
    return RawPart(df.select(*data, label.cast("string").alias(FILE_COL), corrupt.alias(CORRUPT_COL),
                             F.lit(None).cast("long").alias(SIZE_COL), F.lit(None).cast("long").alias(MTIME_COL),
                             *problem), kind)

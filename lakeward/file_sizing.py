"""Files near a target size (default 128 MB, ``LAKEWARD_TARGET_FILE_MB``), whatever the input's layout.

The bytes a row takes in Parquet are measured, not guessed: a sample of the batch's good rows is written
once with Spark and its size divided by its rows. That gives the records per file (Spark's
``maxRecordsPerFile``), and for an unpartitioned table the number of files (the write is coalesced to it,
so small input splits do not each become a small file). Partitioned writes are repartitioned by the
partition columns, so a partition's rows meet in one task and are cut into files of the target size.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from pyspark.sql import DataFrame

from lakeward.readers import spark_path
from lakeward.storage import Storage

SAMPLE_ROWS = 10_000
MIN_RECORDS_PER_FILE = 1_000


def target_bytes() -> int:
    return int(float(os.environ.get("LAKEWARD_TARGET_FILE_MB", "128")) * 2**20)


@dataclass(frozen=True)
class FilePlan:
    bytes_per_row: float
    records_per_file: int
    files: int  # for an unpartitioned write: how many files the batch should make


def measure(good: DataFrame, rows: int, storage: Storage, scratch_uri: str, target: int | None = None) -> FilePlan:
    """Write a sample of ``good`` (which holds ``rows`` rows) to ``scratch_uri``, measure, clean up."""
    target = target or target_bytes()
    sample_rows = min(rows, SAMPLE_ROWS)
    try:
        good.limit(sample_rows).coalesce(1).write.mode("overwrite").parquet(spark_path(scratch_uri))
        size = sum(f.size for f in storage.list_files(scratch_uri) if f.uri.endswith(".parquet"))
    finally:
        storage.delete_dir(scratch_uri)
    per_row = max(size / max(sample_rows, 1), 1.0)
    records = max(MIN_RECORDS_PER_FILE, int(target / per_row))
    return FilePlan(per_row, records, max(1, math.ceil(rows * per_row / target)))

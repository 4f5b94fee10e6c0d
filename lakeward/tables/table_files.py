"""Read a table's own Parquet files back into Spark (merges, compaction and widening rewrite them).

Files sit under a base folder (a Delta table's root, a Parquet table's root or one of its generation
folders) in Hive partition folders, so Spark's partition discovery, typed by the table's schema, gives
each row its partition values exactly as the folder (and the Delta log) records them.

A Parquet table's older files may hold a narrower type than the table declares (int in a bigint
column, bigint in a partition kept so after the table widened to double), which Spark 3.5's Parquet
reader refuses to read as the wider type. Given the files' footers, each group of files is read with
the types it holds and then cast to the table's.
"""
from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import reduce

import pyarrow as pa
import pyarrow.parquet as pq

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from catalog.schema import TableDefinition
from catalog import types as C
from lakeward.engines.arrow_types import from_arrow
from lakeward.engines.bookkeeping import spark_path
from lakeward.engines.spark_columns import quoted
from lakeward.engines.spark_types import to_spark
from lakeward.runtime.storage import Storage

TABLE_FILE_COL = "__lw_table_file"


def base_of(uri: str, partition_depth: int) -> str:
    """The folder above a file's Hive partition folders."""
    return uri.rsplit("/", partition_depth + 1)[0]


def footers(storage: Storage, uris: list[str]) -> dict[str, tuple[int, pa.Schema]]:
    """Each file's row count and schema from its footer, read in parallel (on S3 each is a ranged GET)."""
    def read(uri: str) -> tuple[int, pa.Schema]:
        fs, path = storage.resolve(uri)
        with fs.open_input_file(path) as handle:
            metadata = pq.ParquetFile(handle).metadata
            return metadata.num_rows, metadata.schema.to_arrow_schema()
    with ThreadPoolExecutor(16) as pool:
        return dict(zip(uris, pool.map(read, uris)))


def _held(table: TableDefinition, schema: pa.Schema | None) -> tuple[tuple[str, C.DataType], ...]:
    """The table's primitive columns a file holds with another type than the table declares (a nested
    column lacking fields is read as it is: Spark fills missing fields with NULL)."""
    if schema is None:
        return ()
    held = []
    for column in table.columns:
        index = schema.get_field_index(column.name)
        if index >= 0 and isinstance(column.type, (C.Primitive, C.Decimal)):
            own = from_arrow(schema.field(index).type, column.name)
            if own != column.type:
                held.append((column.name, own))
    return tuple(held)


def read_table_files(spark: SparkSession, table: TableDefinition, uris: list[str],
                     schemas: dict[str, tuple[int, pa.Schema]] | None = None) -> DataFrame:
    """The rows of these files with the table's columns (NULL where a file lacks one) and partition
    values, plus the file each row came from (Spark's path form). Given the files' ``footers``, files
    holding narrower types than the table's are read as they are and cast."""
    schemas = schemas or {}
    groups: dict[tuple[str, tuple[tuple[str, C.DataType], ...]], list[str]] = defaultdict(list)
    for uri in uris:
        schema = schemas[uri][1] if uri in schemas else None
        groups[(base_of(uri, len(table.partition_keys)), _held(table, schema))].append(uri)
    frames = []
    for (base, held), files in sorted(groups.items(), key=lambda g: (g[0][0], str(g[0][1]))):
        own = dict(held)
        schema = T.StructType([T.StructField(c.name, to_spark(own.get(c.name, c.type)), True)
                               for c in (*table.columns, *table.partition_keys)])
        frame = spark.read.schema(schema).option("basePath", spark_path(base)).parquet(*[spark_path(u) for u in files])
        if own:
            frame = frame.select(*[quoted(c.name).cast(to_spark(c.type)).alias(c.name) if c.name in own
                                   else quoted(c.name) for c in (*table.columns, *table.partition_keys)],
                                 F.col("_metadata.file_path").alias(TABLE_FILE_COL))
        else:
            frame = frame.withColumn(TABLE_FILE_COL, F.col("_metadata.file_path"))
        frames.append(frame)
    return reduce(DataFrame.unionByName, frames)

"""Read a table's own Parquet files back into Spark (merges and compaction rewrite them).

Files sit under a base folder (a Delta table's root, a Parquet table's root or one of its generation
folders) in Hive partition folders, so Spark's partition discovery, typed by the table's schema, gives
each row its partition values exactly as the folder (and the Delta log) records them.
"""
from __future__ import annotations

from collections import defaultdict
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from catalog.schema import TableDefinition
from lakeward.engines.bookkeeping import spark_path
from lakeward.engines.spark_types import to_spark

TABLE_FILE_COL = "__lw_table_file"


def base_of(uri: str, partition_depth: int) -> str:
    """The folder above a file's Hive partition folders."""
    return uri.rsplit("/", partition_depth + 1)[0]


def read_table_files(spark: SparkSession, table: TableDefinition, uris: list[str]) -> DataFrame:
    """The rows of these files with the table's columns (NULL where a file lacks one) and partition
    values, plus the file each row came from (Spark's path form)."""
    schema = T.StructType([T.StructField(c.name, to_spark(c.type), True)
                           for c in (*table.columns, *table.partition_keys)])
    by_base: dict[str, list[str]] = defaultdict(list)
    for uri in uris:
        by_base[base_of(uri, len(table.partition_keys))].append(uri)
    frames = [spark.read.schema(schema).option("basePath", spark_path(base)).parquet(*[spark_path(u) for u in files])
              for base, files in sorted(by_base.items())]
    return reduce(DataFrame.unionByName, frames).withColumn(TABLE_FILE_COL, F.col("_metadata.file_path"))

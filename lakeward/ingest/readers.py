"""Read raw files with Spark, one read per group of files that share a format and its options.

Every group yields a batch part: the raw columns plus the bookkeeping columns (the source file, the size
and time of the bytes read and, for records Spark could not parse, the raw text from Spark's
corrupt-record column). Nothing is dropped here.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeward.engines.bookkeeping import (
    BOOKKEEPING,
    CORRUPT_COL,
    FILE_COL,
    MTIME_COL,
    SIZE_COL,
    spark_path,
)
from lakeward.errors import SourceError
from lakeward.ingest.batch import RawPart
from lakeward.ingest.sources import SourceFile

_SPARK_CORRUPT = "__lakeward_corrupt_record"


def _group_key(f: SourceFile) -> str:
    if f.format == "csv":
        return f"csv|{f.delimiter}|{f.header}|{f.multiline}|{f.header_line}"
    if f.format == "parquet":
        return f"parquet|{f.parquet_schema}"
    return str(f.format)


def _with_bookkeeping(df: DataFrame, corrupt: bool, paths: list[str]) -> DataFrame:
    reserved = [c for c in df.columns if c in (*BOOKKEEPING, "_metadata") or (not corrupt and c == _SPARK_CORRUPT)]
    if reserved:
        raise SourceError(f"files {', '.join(paths[:3])}{' ...' if len(paths) > 3 else ''} have a column named "
                          f"{reserved[0]!r}, which lakeward reserves; rename it in the source")
    has_corrupt = corrupt and _SPARK_CORRUPT in df.columns
    corrupt_col = F.col(_SPARK_CORRUPT) if has_corrupt else F.lit(None).cast("string")
    data = [F.col("`" + c.replace("`", "``") + "`") for c in df.columns if not (has_corrupt and c == _SPARK_CORRUPT)]
    return df.select(*data, F.col("_metadata.file_path").alias(FILE_COL), corrupt_col.alias(CORRUPT_COL),
                     F.col("_metadata.file_size").alias(SIZE_COL),
                     F.unix_micros(F.col("_metadata.file_modification_time")).alias(MTIME_COL))


def _read_json(spark: SparkSession, paths: list[str], multiline: bool) -> DataFrame:
    reader = spark.read.options(mode="PERMISSIVE", columnNameOfCorruptRecord=_SPARK_CORRUPT,
                                multiLine=str(multiline).lower())
    df = reader.json(paths)
    if [f.name for f in df.schema.fields] == [_SPARK_CORRUPT]:
        # Nothing parsed: Spark refuses to select only the corrupt column, so keep the raw text instead.
        text = spark.read.text(paths, wholetext=multiline)
        df = text.where(F.trim("value") != "").select(F.col("value").alias(_SPARK_CORRUPT))
    return df


def _read_csv(spark: SparkSession, paths: list[str], delimiter: str, header: bool, multiline: bool) -> DataFrame:
    options: dict[str, Any] = {"sep": delimiter, "header": str(header).lower(), "mode": "PERMISSIVE",
                               "escape": '"', "enforceSchema": "false", "multiLine": str(multiline).lower()}
    inferred = spark.read.options(inferSchema="true", **options).csv(paths).schema
    schema = T.StructType([*inferred.fields, T.StructField(_SPARK_CORRUPT, T.StringType(), True)])
    return spark.read.options(columnNameOfCorruptRecord=_SPARK_CORRUPT, **options).schema(schema).csv(paths)


def read_files(spark: SparkSession, files: list[SourceFile]) -> list[RawPart]:
    """The files as batch parts, one Spark read per group of files sharing a format and its options."""
    by_key: dict[str, list[SourceFile]] = defaultdict(list)
    for f in files:
        if f.format is not None and f.entry.size > 0:
            by_key[_group_key(f)].append(f)
    groups = []
    for key, members in sorted(by_key.items()):
        paths = [spark_path(f.uri) for f in members]
        first = members[0]
        if first.format in ("jsonl", "json"):
            df = _with_bookkeeping(_read_json(spark, paths, first.format == "json"), True, paths)
        elif first.format == "csv":
            df = _with_bookkeeping(_read_csv(spark, paths, first.delimiter or ",", first.header, first.multiline),
                                   True, paths)
        else:
            df = _with_bookkeeping(spark.read.parquet(*paths), False, paths)
        groups.append(RawPart(df, str(first.format), members))
    return groups

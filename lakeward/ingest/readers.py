"""Read raw files with Spark, one read per group of files that share a format and its options.

Every group yields a batch part: the raw columns plus the bookkeeping columns (the source file, the size
and time of the bytes read and, for records Spark could not parse, the raw text from Spark's
corrupt-record column). Nothing is dropped here.
"""
from __future__ import annotations

import json
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
_META = "__lakeward_file_metadata"  # Spark's _metadata, carried by name through a parse that explodes rows


def _group_key(f: SourceFile) -> str:
    if f.format == "csv":
        return f"csv|{f.delimiter}|{f.header}|{f.multiline}|{f.header_line}"
    if f.format == "parquet":
        return f"parquet|{f.parquet_schema}"
    return str(f.format)


def _with_bookkeeping(df: DataFrame, corrupt: bool, paths: list[str]) -> DataFrame:
    meta = _META if _META in df.columns else "_metadata"
    reserved = [c for c in df.columns if c in (*BOOKKEEPING, "_metadata") or (not corrupt and c == _SPARK_CORRUPT)]
    if reserved:
        raise SourceError(f"files {', '.join(paths[:3])}{' ...' if len(paths) > 3 else ''} have a column named "
                          f"{reserved[0]!r}, which lakeward reserves; rename it in the source")
    has_corrupt = corrupt and _SPARK_CORRUPT in df.columns
    corrupt_col = F.col(_SPARK_CORRUPT) if has_corrupt else F.lit(None).cast("string")
    data = [F.col("`" + c.replace("`", "``") + "`") for c in df.columns
            if not (has_corrupt and c == _SPARK_CORRUPT) and c != _META]
    return df.select(*data, F.col(f"{meta}.file_path").alias(FILE_COL), corrupt_col.alias(CORRUPT_COL),
                     F.col(f"{meta}.file_size").alias(SIZE_COL),
                     F.unix_micros(F.col(f"{meta}.file_modification_time")).alias(MTIME_COL))


def _read_json(spark: SparkSession, paths: list[str], multiline: bool) -> DataFrame:
    reader = spark.read.options(mode="PERMISSIVE", columnNameOfCorruptRecord=_SPARK_CORRUPT,
                                multiLine=str(multiline).lower())
    df = reader.json(paths)
    if [f.name for f in df.schema.fields] == [_SPARK_CORRUPT]:
        # Nothing parsed: Spark refuses to select only the corrupt column, so keep the raw text instead.
        text = spark.read.text(paths, wholetext=multiline)
        return text.where(F.trim("value") != "").select(F.col("value").alias(_SPARK_CORRUPT))
    if not multiline:
        return _json_lines(spark, paths, df.schema)
    capped = _capped(df.schema)
    return df if capped == df.schema else reader.schema(capped).json(paths)


MAX_NESTING = 32  # deeper values are kept as JSON text: Arrow's IPC (Spark -> Python) refuses ~60+ levels


def _capped(dt: T.DataType, depth: int = 0) -> T.DataType:
    """The type with everything nested deeper than MAX_NESTING levels read as its JSON text."""
    if depth >= MAX_NESTING and isinstance(dt, (T.StructType, T.ArrayType, T.MapType)):
        return T.StringType()
    if isinstance(dt, T.StructType):
        return T.StructType([T.StructField(f.name, _capped(f.dataType, depth + 1), f.nullable) for f in dt.fields])
    if isinstance(dt, T.ArrayType):
        return T.ArrayType(_capped(dt.elementType, depth + 1), dt.containsNull)
    if isinstance(dt, T.MapType):
        return T.MapType(dt.keyType, _capped(dt.valueType, depth + 1), dt.valueContainsNull)
    return dt


def _json_lines(spark: SparkSession, paths: list[str], inferred: T.StructType) -> DataFrame:
    lines = spark.read.text(paths).where(F.trim("value") != "").select("value", F.col("_metadata").alias(_META))
    return json_records(lines, inferred, [_META], _SPARK_CORRUPT)


def infer_json(spark: SparkSession, lines: DataFrame) -> T.StructType:
    """The schema Spark's JSON inference gives a column of JSON texts (``value``), inferred in the JVM."""
    encoder = spark._jvm.org.apache.spark.sql.Encoders.STRING()  # type: ignore[union-attr]
    strings = getattr(lines.select(F.col("value").cast("string"))._jdf, "as")(encoder)  # Dataset[String]
    reader = spark.read.options(mode="PERMISSIVE", columnNameOfCorruptRecord=_SPARK_CORRUPT)._jreader
    return T.StructType.fromJson(json.loads(reader.json(strings).schema().json()))


def json_records(lines: DataFrame, inferred: T.StructType, keep: list[str], corrupt_name: str) -> DataFrame:
    """JSON texts (``value``) parsed one by one against the inferred schema, so that a text holding more
    than one value (``{"a":1}{"a":2}``, or a value followed by anything but spaces) is one corrupt record
    (``corrupt_name`` holds its raw text): Spark's JSON reader would keep the first value and drop the rest
    unnoticed. A text holding an array of objects is one row per object, as Spark reads it. ``keep``:
    columns carried to every row."""
    record = _capped(T.StructType([f for f in inferred.fields if f.name != _SPARK_CORRUPT]))
    line = F.col("value")
    line = F.when(line.startswith("\ufeff"), F.substring(line, 2, 1 << 30)).otherwise(line)
    array = F.when(F.ltrim(line).startswith("["), line).otherwise(F.concat(F.lit("["), line, F.lit("]")))
    parsed = lines.select("value", F.from_json(array, T.ArrayType(record), {"mode": "PERMISSIVE"}).alias("__lw_records"),
                          *keep)
    # Parsed once above; a text that did not parse is one row with no record.
    records = F.col("__lw_records")
    elements = F.when(records.isNull(), F.array(F.lit(None).cast(record))).otherwise(records)
    rows = parsed.select("value", F.explode(elements).alias("__lw_record"), *keep)
    corrupt = F.when(F.col("__lw_record").isNull(), F.col("value"))
    return rows.select(*[F.col("__lw_record")[f.name].alias(f.name) for f in record.fields],
                       corrupt.alias(corrupt_name), *keep)


def _read_csv(spark: SparkSession, paths: list[str], delimiter: str, header: bool, multiline: bool) -> DataFrame:
    """Every field as text: lakeward's content rules type them (Spark's inference would turn the ZIP code
    02134 into 2134 and a column with one NA into text)."""
    options: dict[str, Any] = {"sep": delimiter, "header": str(header).lower(), "mode": "PERMISSIVE",
                               "escape": '"', "multiLine": str(multiline).lower()}
    names = spark.read.options(**options).csv(paths).schema
    schema = T.StructType([*names.fields, T.StructField(_SPARK_CORRUPT, T.StringType(), True)])
    # The files of a group share their header line (sources.SourceFile.header_line), so the names hold for
    # all; Spark's own check would refuse an empty name (R's write.csv leaves the row names' header empty).
    return (spark.read.options(columnNameOfCorruptRecord=_SPARK_CORRUPT, enforceSchema="true", **options)
            .schema(schema).csv(paths))


def _in_source_order(df: DataFrame, files: list[SourceFile]) -> DataFrame:
    """Spark's JSON inference sorts fields by name; analysts expect the order the records have. Fields in
    the order the files' first records show them, then the fields only later records have."""
    return in_order(df, list(dict.fromkeys(name for f in files for name, _ in f.kinds)))


def in_order(df: DataFrame, order: list[str]) -> DataFrame:
    """The columns named in ``order`` first, in that order, then the others as they are."""
    columns = set(df.columns)
    first = [n for n in order if n in columns]
    placed = set(first)
    ordered = first + [n for n in df.columns if n not in placed]
    return df if ordered == df.columns else df.select(*[F.col("`" + n.replace("`", "``") + "`") for n in ordered])


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
            df = _in_source_order(_read_json(spark, paths, first.format == "json"), members)
            df = _with_bookkeeping(df, True, paths)
        elif first.format == "csv":
            df = _with_bookkeeping(_read_csv(spark, paths, first.delimiter or ",", first.header, first.multiline),
                                   True, paths)
        else:
            df = _with_bookkeeping(spark.read.parquet(*paths), False, paths)
        groups.append(RawPart(df, str(first.format), members))
    return groups

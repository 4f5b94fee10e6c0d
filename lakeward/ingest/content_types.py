"""Values that are really timestamps, dates, booleans or decimals, decided from their content.

A top-level column gets such a type when every non-null value of a sample (the first
LAKEWARD_TYPE_SAMPLE_ROWS records of its read part, default 10,000) matches the type's pattern:

- strings: ISO-8601 dates, ISO-8601 timestamps (with or without zone), true/false, and money-like
  decimals (one fixed number of 2 to 4 decimal places in every value, e.g. "12.50"; typed decimal(38,s));
- integers in a column named like a time (created_at, event_ts, updated_time, ...): epoch seconds or
  epoch milliseconds, when every value lies between 2000-01-01 and 2100-01-01 in that unit.

The rows beyond the sample are checked when they are converted, and a value that does not parse is
quarantined with its reason like any other value that does not fit. Patterns are strict on purpose: Spark
would also cast "2024" to a timestamp, which a year column is not. The same patterns are required of every
value converted into these types (lakeward.projection.conform), so nothing past the sample is read leniently.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from catalog import types as C
from catalog.names import normalize_identifier

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
# At most microseconds: Spark keeps no more, and a value it would cut short is quarantined instead.
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
BOOLEAN = r"(?i)^(true|false)$"
MONEY = r"^[+-]?(0|[1-9][0-9]{0,33})\.[0-9]{2,4}$"
TIME_NAME = re.compile(r"(^|_)(at|ts|time|timestamp|datetime|epoch|date)(_(ms|millis|s|secs|seconds))?$")
EPOCH_RANGE_S = (946_684_800, 4_102_444_800)  # [2000-01-01, 2100-01-01)
EPOCH_SECONDS, EPOCH_MILLIS = "epoch seconds", "epoch milliseconds"
INTEGRAL_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)


@dataclass(frozen=True)
class ContentType:
    type: C.DataType
    format: str  # how the raw values read, recorded with the column (lakeward.parsed_from)


def epoch_unit(parsed_from: str | None) -> str | None:
    """The epoch unit a column's recorded parse format names, if any."""
    for unit in (EPOCH_MILLIS, EPOCH_SECONDS):
        if parsed_from and unit in parsed_from:
            return unit
    return None


def from_epoch(expr: SparkColumn, unit: str) -> tuple[SparkColumn, SparkColumn]:
    """An integer read as epoch seconds or milliseconds, and the condition that it lies outside the range
    the column was typed on (such a value is quarantined rather than read as a 1970 or 2400 time)."""
    scale = 1000 if unit == EPOCH_MILLIS else 1
    low, high = EPOCH_RANGE_S[0] * scale, EPOCH_RANGE_S[1] * scale
    converted = F.timestamp_millis(expr) if unit == EPOCH_MILLIS else F.timestamp_seconds(expr)
    outside = (expr < F.lit(low)) | (expr >= F.lit(high))
    return F.when(~outside, converted), expr.isNotNull() & outside


def _quoted(name: str) -> SparkColumn:
    return F.col("`" + name.replace("`", "``") + "`")


def _string_checks(value: SparkColumn, i: int) -> list[SparkColumn]:
    # A value counts only if it matches the pattern and Spark can also convert it ("2024-02-30" cannot).
    scale = F.length(F.regexp_extract(value, r"\.([0-9]+)$", 1))
    money = value.rlike(MONEY)
    return [F.count(value).alias(f"n{i}"),
            F.sum((value.rlike(ISO_DATE) & value.cast("date").isNotNull()).cast("int")).alias(f"d{i}"),
            F.sum((value.rlike(ISO_TIMESTAMP) & value.cast("timestamp").isNotNull()).cast("int")).alias(f"t{i}"),
            F.sum(value.rlike(BOOLEAN).cast("int")).alias(f"b{i}"),
            F.sum(money.cast("int")).alias(f"m{i}"),
            F.min(F.when(money, scale)).alias(f"lo{i}"), F.max(F.when(money, scale)).alias(f"hi{i}")]


def _epoch_checks(value: SparkColumn, i: int) -> list[SparkColumn]:
    low, high = EPOCH_RANGE_S
    return [F.count(value).alias(f"n{i}"),
            F.sum(((value >= low) & (value < high)).cast("int")).alias(f"s{i}"),
            F.sum(((value >= low * 1000) & (value < high * 1000)).cast("int")).alias(f"ms{i}")]


def infer_content_types(df: DataFrame, fields: list[T.StructField], rows: int) -> dict[str, ContentType]:
    """Raw name -> the type its values all have among the first ``rows`` records (absent: they keep their
    Spark type)."""
    strings = [f.name for f in fields if isinstance(f.dataType, T.StringType)]
    epochs = [f.name for f in fields if isinstance(f.dataType, INTEGRAL_TYPES)
              and TIME_NAME.search(normalize_identifier(f.name))]
    if not strings and not epochs:
        return {}
    if rows <= 0:
        return {}
    names = strings + epochs
    sample = df.select(*[_quoted(n).alias(f"v{i}") for i, n in enumerate(names)]).limit(rows)
    checks = [c for i in range(len(strings)) for c in _string_checks(F.trim(F.col(f"v{i}")), i)]
    checks += [c for i in range(len(strings), len(names)) for c in _epoch_checks(F.col(f"v{i}"), i)]
    row = sample.agg(*checks).collect()[0]
    typed: dict[str, ContentType] = {}
    for i, name in enumerate(names):
        seen = row[f"n{i}"]
        if not seen:
            continue
        if name in epochs:
            if row[f"s{i}"] == seen:
                typed[name] = ContentType(C.TIMESTAMP, EPOCH_SECONDS)
            elif row[f"ms{i}"] == seen:
                typed[name] = ContentType(C.TIMESTAMP, EPOCH_MILLIS)
        elif row[f"d{i}"] == seen:
            typed[name] = ContentType(C.DATE, "ISO-8601 date")
        elif row[f"d{i}"] + row[f"t{i}"] == seen:
            typed[name] = ContentType(C.TIMESTAMP, "ISO-8601 timestamp")
        elif row[f"b{i}"] == seen:
            typed[name] = ContentType(C.BOOLEAN, "true/false")
        elif row[f"m{i}"] == seen and row[f"lo{i}"] == row[f"hi{i}"]:
            typed[name] = ContentType(C.Decimal(38, row[f"lo{i}"]), f"decimal with {row[f'lo{i}']} places")
    return typed

"""Strings that are really timestamps, dates or booleans, decided from their content.

A top-level string column gets such a type when every non-null value of a sample (the first
LAKEWARD_TYPE_SAMPLE_ROWS records of its read group, default 10,000) matches the type's pattern; the rows beyond the sample are
checked when they are converted, and a value that does not parse is quarantined with its reason like any
other value that does not fit. Patterns are strict on purpose: Spark would also cast "2024" to a
timestamp, which a year column is not. The same patterns are required of every value converted from a
string into these types (lakeward.projection.conform), so nothing past the sample is read leniently.
"""
from __future__ import annotations

import os

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from catalog import types as C

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
# At most microseconds: Spark keeps no more, and a value it would cut short is quarantined instead.
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
BOOLEAN = r"(?i)^(true|false)$"
FORMATS = {"date": "ISO-8601 date", "timestamp": "ISO-8601 timestamp", "boolean": "true/false"}


def _quoted(name: str):
    return F.col("`" + name.replace("`", "``") + "`")


def infer_string_types(df: DataFrame, fields: list[T.StructField]) -> dict[str, C.DataType]:
    """Raw name -> the type its string values all have in the sample (absent: they stay strings)."""
    strings = [f.name for f in fields if isinstance(f.dataType, T.StringType)]
    if not strings:
        return {}
    rows = int(os.environ.get("LAKEWARD_TYPE_SAMPLE_ROWS", "10000"))
    sample = df.select(*[_quoted(n).alias(f"s{i}") for i, n in enumerate(strings)]).limit(rows)
    checks = []
    for i in range(len(strings)):
        value = F.trim(F.col(f"s{i}"))
        # A value counts only if it matches the pattern and Spark can also convert it ("2024-02-30" cannot).
        checks += [F.count(value).alias(f"n{i}"),
                   F.sum((value.rlike(ISO_DATE) & value.cast("date").isNotNull()).cast("int")).alias(f"d{i}"),
                   F.sum((value.rlike(ISO_TIMESTAMP) & value.cast("timestamp").isNotNull()).cast("int")).alias(f"t{i}"),
                   F.sum(value.rlike(BOOLEAN).cast("int")).alias(f"b{i}")]
    row = sample.agg(*checks).collect()[0]
    typed: dict[str, C.DataType] = {}
    for i, name in enumerate(strings):
        seen = row[f"n{i}"]
        if not seen:
            continue
        if row[f"d{i}"] == seen:
            typed[name] = C.DATE
        elif row[f"d{i}"] + row[f"t{i}"] == seen:
            typed[name] = C.TIMESTAMP
        elif row[f"b{i}"] == seen:
            typed[name] = C.BOOLEAN
    return typed

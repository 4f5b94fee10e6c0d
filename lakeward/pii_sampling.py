"""Sample column values with Spark for the PII classifier (lakeformation.classifier), nested fields too.

One aggregate over the first ``LAKEWARD_PII_SAMPLE_ROWS`` rows (default 10,000) collects, per leaf
field, at most ``LAKEWARD_PII_DISTINCT_VALUES`` (default 1,000) distinct values as strings: bounded data
to the driver whatever the table's size. Paths are column-rooted: ``email``, ``customer.full_name``,
``items[].sku``, ``attrs{}``. Booleans and binary values are never PII and are not sampled.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeformation.classifier import Detection, classify_column

_SKIPPED = (T.BooleanType, T.BinaryType, T.NullType)


def _field(name: str):  # type: ignore[no-untyped-def]
    """x -> x.name, as a one-argument function (F.transform passes the index to a second argument)."""
    return lambda x: x.getField(name)


def _leaves(expr: SparkColumn, dt: T.DataType, path: str, is_array: bool) -> Iterator[tuple[str, SparkColumn, bool]]:
    """(path, expression, whether the expression is an array of the leaf's values)."""
    if isinstance(dt, T.StructType):
        for f in dt.fields:
            child = F.transform(expr, _field(f.name)) if is_array else expr.getField(f.name)
            yield from _leaves(child, f.dataType, f"{path}.{f.name}", is_array)
    elif isinstance(dt, T.ArrayType):
        yield from _leaves(F.flatten(expr) if is_array else expr, dt.elementType, f"{path}[]", True)
    elif isinstance(dt, T.MapType):
        values = F.flatten(F.transform(expr, F.map_values)) if is_array else F.map_values(expr)
        yield from _leaves(values, dt.valueType, f"{path}{{}}", True)
    elif not isinstance(dt, _SKIPPED):
        yield path, expr, is_array


def sample_values(df: DataFrame, columns: list[str], rows: int | None = None,
                  distinct: int | None = None) -> dict[str, list[str]]:
    """Leaf path -> up to ``distinct`` distinct non-null values (as strings) among the first ``rows`` rows."""
    rows = rows or int(os.environ.get("LAKEWARD_PII_SAMPLE_ROWS", "10000"))
    distinct = distinct or int(os.environ.get("LAKEWARD_PII_DISTINCT_VALUES", "1000"))
    by_name = {f.name: f for f in df.schema.fields}
    leaves = [leaf for c in columns if c in by_name
              for leaf in _leaves(F.col(f"`{c}`"), by_name[c].dataType, c, False)]
    if not leaves:
        return {}
    aggregates = []
    for i, (_, expr, is_array) in enumerate(leaves):
        if is_array:
            values = F.array_distinct(F.flatten(F.collect_list(F.transform(expr, lambda x: x.cast("string")))))
        else:
            values = F.collect_set(expr.cast("string"))
        aggregates.append(F.slice(values, 1, distinct).alias(f"v{i}"))
    row = df.limit(rows).agg(*aggregates).collect()[0]
    return {path: [v for v in (row[f"v{i}"] or []) if v is not None] for i, (path, _, _) in enumerate(leaves)}


def classify_frame(df: DataFrame, columns: list[str], rows: int | None = None) -> list[Detection]:
    """The PII found in the given top-level columns of df (one Spark job, then the classifier per leaf)."""
    found = []
    for path, values in sample_values(df, columns, rows).items():
        detection = classify_column(path, values)
        if detection is not None:
            found.append(detection)
    return found

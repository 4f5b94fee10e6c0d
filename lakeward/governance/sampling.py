"""Sample column values with Spark for the PII classifier (lakeformation.classifier), nested fields too.

One aggregate over the first ``LAKEWARD_PII_SAMPLE_ROWS`` rows (default 10,000) collects, per leaf
field, at most ``LAKEWARD_PII_DISTINCT_VALUES`` (default 1,000) distinct values as strings: bounded data
to the driver whatever the table's size. Paths are column-rooted: ``email``, ``customer.full_name``,
``items[].sku``, ``attrs{}``. Booleans and binary values are never PII: they are sampled only to know
that the column has values (and can be classified as not PII).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeformation.classifier import Findings, assess_column

_NEVER_PII = (T.BooleanType, T.BinaryType)  # sampled only to know the column has values


def _field(name: str):  # type: ignore[no-untyped-def]
    """x -> x.name, as a one-argument function (F.transform passes the index to a second argument)."""
    return lambda x: x.getField(name)


def _kind(dt: T.DataType) -> str:
    if isinstance(dt, _NEVER_PII):
        return "other"
    if isinstance(dt, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return "integer"
    if isinstance(dt, (T.FloatType, T.DoubleType, T.DecimalType)):
        return "number"
    if isinstance(dt, (T.DateType, T.TimestampType, T.TimestampNTZType)):
        return "date"
    return "string"


@dataclass(frozen=True)
class Leaf:
    path: str
    expr: SparkColumn
    is_array: bool  # the expression is an array of the leaf's values
    kind: str


def _leaves(expr: SparkColumn, dt: T.DataType, path: str, is_array: bool) -> Iterator[Leaf]:
    if isinstance(dt, T.StructType):
        for f in dt.fields:
            child = F.transform(expr, _field(f.name)) if is_array else expr.getField(f.name)
            yield from _leaves(child, f.dataType, f"{path}.{f.name}", is_array)
    elif isinstance(dt, T.ArrayType):
        yield from _leaves(F.flatten(expr) if is_array else expr, dt.elementType, f"{path}[]", True)
    elif isinstance(dt, T.MapType):
        values = F.flatten(F.transform(expr, F.map_values)) if is_array else F.map_values(expr)
        yield from _leaves(values, dt.valueType, f"{path}{{}}", True)
    elif not isinstance(dt, T.NullType):
        yield Leaf(path, expr, is_array, _kind(dt))


def _collect(df: DataFrame, leaves: list[Leaf], rows: int, distinct: int) -> dict[str, list[str]]:
    aggregates = []
    for i, leaf in enumerate(leaves):
        if leaf.is_array:
            values = F.array_distinct(F.flatten(F.collect_list(F.transform(leaf.expr, lambda x: x.cast("string")))))
        else:
            values = F.collect_set(leaf.expr.cast("string"))
        aggregates.append(F.slice(values, 1, distinct).alias(f"v{i}"))
    row = df.limit(rows).agg(*aggregates).collect()[0]
    return {leaf.path: [v for v in (row[f"v{i}"] or []) if v is not None] for i, leaf in enumerate(leaves)}


def sample_values(df: DataFrame, columns: list[str], rows: int, distinct: int) -> dict[str, tuple[str, list[str]]]:
    """Leaf path -> (kind, up to ``distinct`` distinct non-null values as strings) among the first ``rows``
    rows; leaves with no value there are sampled again among the rows where they are set."""
    by_name = {f.name: f for f in df.schema.fields}
    leaves = [leaf for c in columns if c in by_name for leaf in _leaves(F.col(f"`{c}`"), by_name[c].dataType, c, False)]
    if not leaves:
        return {}
    values = _collect(df, leaves, rows, distinct)
    empty = [leaf for leaf in leaves if not values[leaf.path]]
    if empty:  # a field set only in later rows (a late file, a sparse field) must not pass for empty
        present = reduce(lambda a, b: a | b, [(F.size(leaf.expr) > 0) if leaf.is_array else leaf.expr.isNotNull()
                                             for leaf in empty])
        values.update(_collect(df.where(present), empty, rows, distinct))
    return {leaf.path: (leaf.kind, values[leaf.path]) for leaf in leaves}


def _column_of(path: str) -> str:
    return re.split(r"[.\[{]", path, maxsplit=1)[0]


def classify_frame(df: DataFrame, columns: list[str], rows: int, distinct: int) -> Findings:
    """The PII found in the given top-level columns of df, the columns that had values to classify (a
    column whose sample is empty stays unclassified and keeps its database's tags) and the doubtful ones."""
    result = Findings()
    for path, (kind, values) in sample_values(df, columns, rows, distinct).items():
        if values:
            result.seen.add(_column_of(path))
        detection, doubt = assess_column(path, values, kind=kind)  # type: ignore[arg-type]
        if detection is not None:
            result.found.append(detection)
        elif doubt is not None:
            result.doubts.append(doubt)
    return result

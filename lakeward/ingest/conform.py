"""Convert raw Spark values to the table's types: nested fields matched by their normalised names, and
for every value that cannot be represented, a condition that quarantines its row instead of a silent null.
"""
from __future__ import annotations

from functools import reduce

from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F
from pyspark.sql import types as T

from catalog import types as C
from catalog.names import NestedNames
from lakeward.engines.spark_types import to_catalog, to_spark
from lakeward.ingest.content_types import BOOLEAN, ISO_DATE, ISO_TIMESTAMP, NULL_TOKENS, null_token

_INTEGRAL = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
_NUMERIC = (*_INTEGRAL, T.FloatType, T.DoubleType, T.DecimalType)


def _any(conditions: list[SparkColumn]) -> SparkColumn | None:
    return reduce(lambda a, b: a | b, conditions) if conditions else None


def conform(expr: SparkColumn, src: T.DataType, tgt: C.DataType, nested: NestedNames | None = None,
            path: str = "", tokens: tuple[str, ...] = NULL_TOKENS) -> tuple[SparkColumn, SparkColumn | None]:
    """Convert expr (of Spark type src) to the catalog type tgt; struct fields are matched through the
    batch's ``nested`` names at ``path`` (the column-rooted path of expr).

    Returns the converted expression and a condition that is true when a non-null value did not survive
    the conversion (None when the conversion is lossless by construction).
    """
    if isinstance(tgt, C.Struct) and isinstance(src, T.StructType):
        names = (nested or NestedNames()).names(path, [f.name for f in src.fields],
                                                tuple(f.name for f in tgt.fields))
        by_name: dict[str, list[T.StructField]] = {}
        for f in src.fields:
            by_name.setdefault(names[f.name], []).append(f)
        target_names = {f.name for f in tgt.fields}
        # A field the table does not have is data the table cannot hold: never drop it silently.
        lossy = [expr.getField(f.name).isNotNull() for f in src.fields if names[f.name] not in target_names]
        parts = []
        for field in tgt.fields:
            sources = by_name.get(field.name, [])
            if not sources:
                parts.append(F.lit(None).cast(to_spark(field.type)).alias(field.name))
                continue
            converted = [conform(expr.getField(s.name), s.dataType, field.type, nested, f"{path}.{field.name}",
                                 tokens) for s in sources]
            parts.append((converted[0][0] if len(converted) == 1 else F.coalesce(*[c[0] for c in converted]))
                         .alias(field.name))
            lossy += [loss for _, loss in converted if loss is not None]
            if len(sources) > 1:  # raw names merged into one field, both set in this record
                lossy.append(sum((expr.getField(s.name).isNotNull().cast("int") for s in sources), F.lit(0)) > 1)
        return F.when(expr.isNull(), F.lit(None)).otherwise(F.struct(*parts)), _any(lossy)
    if isinstance(tgt, C.Array) and isinstance(src, T.ArrayType):
        def element(x: SparkColumn) -> tuple[SparkColumn, SparkColumn | None]:
            return conform(x, src.elementType, tgt.element, nested, f"{path}[]", tokens)
        converted = F.transform(expr, lambda x: element(x)[0])
        if element(F.lit(None).cast(src.elementType))[1] is None:
            return converted, None
        return converted, F.coalesce(F.exists(expr, lambda x: F.coalesce(element(x)[1], F.lit(False))), F.lit(False))
    if isinstance(tgt, C.Map) and isinstance(src, T.MapType):
        def value(v: SparkColumn) -> tuple[SparkColumn, SparkColumn | None]:
            return conform(v, src.valueType, tgt.value, nested, f"{path}{{}}", tokens)
        key_type = to_spark(tgt.key)
        converted = F.transform_values(expr, lambda _, v: value(v)[0])
        if src.keyType != key_type:
            converted = F.transform_keys(converted, lambda k, _: k.cast(key_type))
        if value(F.lit(None).cast(src.valueType))[1] is None:
            return converted, None
        return converted, F.coalesce(F.exists(F.map_values(expr), lambda v: F.coalesce(value(v)[1], F.lit(False))),
                                     F.lit(False))
    target = to_spark(tgt)
    if isinstance(src, (T.StructType, T.ArrayType, T.MapType)) or isinstance(tgt, (C.Struct, C.Array, C.Map)):
        if tgt == C.STRING:
            return F.to_json(expr), None
        # A shape change (struct where the table has a number, ...) cannot be converted at all.
        return F.lit(None).cast(target), expr.isNotNull()
    if src == target:
        return expr, None
    if isinstance(src, T.StringType):  # a missing-value token (NA, NULL, #N/A, ...) is NULL in a typed column
        expr = F.when(~null_token(expr, tokens), expr)
    if isinstance(target, (T.DateType, T.TimestampType)) and not isinstance(
            src, (T.StringType, T.DateType, T.TimestampType, T.TimestampNTZType)):
        # Never read a number or a boolean as a time (Spark would take seconds, or 1970 for false); epochs
        # are typed by content.
        return F.lit(None).cast(target), expr.isNotNull()
    if isinstance(src, T.BooleanType) and isinstance(target, _NUMERIC):
        return F.lit(None).cast(target), expr.isNotNull()  # true is not 1
    converted = expr.cast(target)
    if C.widen(to_catalog(src), tgt) == tgt:
        return converted, None
    lost = converted.isNull()
    if isinstance(src, _NUMERIC) and isinstance(target, _NUMERIC):
        lost = lost | (converted.cast(src) != expr)
    elif isinstance(src, T.StringType) and isinstance(target, _INTEGRAL):
        lost = lost | ~F.trim(expr).rlike(r"^[+-]?[0-9]+$")  # Spark would truncate "4.5" to 4
    elif isinstance(src, T.StringType) and isinstance(target, T.DecimalType):
        # Rounding, compared exactly where the value fits decimal(38,18), else as doubles.
        exact = F.trim(expr).cast(T.DecimalType(38, 18))
        lost = lost | F.when(exact.isNotNull(), converted.cast(T.DecimalType(38, 18)) != exact).otherwise(
            converted.cast("double") != expr.cast("double"))
    elif isinstance(target, T.DateType) and isinstance(src, (T.TimestampType, T.TimestampNTZType)):
        lost = lost | ~converted.cast("timestamp").eqNullSafe(expr)  # a time of day would be dropped
    elif isinstance(src, T.StringType) and isinstance(target, (T.DateType, T.TimestampType, T.BooleanType)):
        # Strict patterns only: Spark's cast would also take "2024", "2024-01-01 junk" or "yes".
        pattern = {T.DateType: ISO_DATE, T.TimestampType: f"{ISO_TIMESTAMP}|{ISO_DATE}", T.BooleanType: BOOLEAN}
        lost = lost | ~F.trim(expr).rlike(pattern[type(target)])
    return converted, expr.isNotNull() & lost

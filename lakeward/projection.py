"""Project raw Spark columns onto the table schema: normalised names (nested fields too), widened types,
and for every row that cannot be represented, a quarantine reason instead of a silent null.
"""
from __future__ import annotations

from functools import reduce

from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F
from pyspark.sql import types as T

from catalog import types as C
from catalog.names import assign_names
from catalog.schema import Column
from lakeward.spark_types import to_catalog, to_spark

_NUMERIC = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)


def normalised_type(dt: T.DataType, where: str = "") -> C.DataType:
    """The catalog type of a raw Spark type, with struct field names normalised."""
    if isinstance(dt, T.StructType):
        names = assign_names([f.name for f in dt.fields])
        return C.Struct(tuple(C.Field(names[f.name], normalised_type(f.dataType, f"{where}.{f.name}"))
                              for f in dt.fields))
    if isinstance(dt, T.ArrayType):
        return C.Array(normalised_type(dt.elementType, where))
    if isinstance(dt, T.MapType):
        return C.Map(normalised_type(dt.keyType, where), normalised_type(dt.valueType, where))
    return to_catalog(dt, where)


def batch_columns(fields: list[T.StructField], reserved: set[str]) -> tuple[dict[str, str], list[Column]]:
    """Top-level raw name -> normalised name, and the normalised columns of one group."""
    names = assign_names([f.name for f in fields], taken=reserved)
    columns = [Column(names[f.name], normalised_type(f.dataType, f.name)) for f in fields]
    return names, columns


def _any(conditions: list[SparkColumn]) -> SparkColumn | None:
    return reduce(lambda a, b: a | b, conditions) if conditions else None


def conform(expr: SparkColumn, src: T.DataType, tgt: C.DataType) -> tuple[SparkColumn, SparkColumn | None]:
    """Convert expr (of Spark type src) to the catalog type tgt.

    Returns the converted expression and a condition that is true when a non-null value did not survive
    the conversion (None when the conversion is lossless by construction).
    """
    if isinstance(tgt, C.Struct) and isinstance(src, T.StructType):
        names = assign_names([f.name for f in src.fields])
        by_name = {names[f.name]: f for f in src.fields}
        target_names = {f.name for f in tgt.fields}
        # A field the table does not have is data the table cannot hold: never drop it silently.
        lossy = [expr.getField(f.name).isNotNull() for f in src.fields if names[f.name] not in target_names]
        parts = []
        for field in tgt.fields:
            source = by_name.get(field.name)
            if source is None:
                parts.append(F.lit(None).cast(to_spark(field.type)).alias(field.name))
                continue
            converted, loss = conform(expr.getField(source.name), source.dataType, field.type)
            parts.append(converted.alias(field.name))
            if loss is not None:
                lossy.append(loss)
        return F.when(expr.isNull(), F.lit(None)).otherwise(F.struct(*parts)), _any(lossy)
    if isinstance(tgt, C.Array) and isinstance(src, T.ArrayType):
        converted = F.transform(expr, lambda x: conform(x, src.elementType, tgt.element)[0])
        if conform(F.lit(None).cast(src.elementType), src.elementType, tgt.element)[1] is None:
            return converted, None
        return converted, F.coalesce(
            F.exists(expr, lambda x: F.coalesce(conform(x, src.elementType, tgt.element)[1], F.lit(False))),
            F.lit(False))
    if isinstance(tgt, C.Map) and isinstance(src, T.MapType):
        key_type, value_type = to_spark(tgt.key), to_spark(tgt.value)
        converted = F.transform_values(expr, lambda _, v: conform(v, src.valueType, tgt.value)[0])
        if src.keyType != key_type:
            converted = F.transform_keys(converted, lambda k, _: k.cast(key_type))
        probe = conform(F.lit(None).cast(src.valueType), src.valueType, tgt.value)[1]
        if probe is None:
            return converted, None
        return converted, F.coalesce(F.exists(F.map_values(expr), lambda v: F.coalesce(
            conform(v, src.valueType, tgt.value)[1], F.lit(False))), F.lit(False))
    target = to_spark(tgt)
    if isinstance(src, (T.StructType, T.ArrayType, T.MapType)) or isinstance(tgt, (C.Struct, C.Array, C.Map)):
        if tgt == C.STRING:
            return F.to_json(expr), None
        # A shape change (struct where the table has a number, ...) cannot be converted at all.
        return F.lit(None).cast(target), expr.isNotNull()
    if src == target:
        return expr, None
    converted = expr.cast(target)
    if C.widen(to_catalog(src), tgt) == tgt:
        return converted, None
    lost = expr.isNotNull() & converted.isNull()
    if isinstance(src, _NUMERIC) and isinstance(target, _NUMERIC):
        lost = lost | (converted.cast(src) != expr)
    return converted, lost

"""Project raw Spark columns onto the table schema: normalised names (nested fields too), widened types,
and for every row that cannot be represented, a quarantine reason instead of a silent null.
"""
from __future__ import annotations

from functools import reduce

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from catalog import types as C
from catalog.names import NestedNames, assign_names, normalize_identifier
from catalog.schema import Column
from lakeward.content_types import BOOLEAN, ISO_DATE, ISO_TIMESTAMP
from lakeward.spark_types import to_catalog, to_spark

_INTEGRAL = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
_NUMERIC = (*_INTEGRAL, T.FloatType, T.DoubleType, T.DecimalType)


def normalised_type(dt: T.DataType, where: str = "", nested: NestedNames | None = None, path: str = "",
                    existing: C.DataType | None = None) -> C.DataType:
    """The catalog type of a raw Spark type, with struct field names normalised (``nested`` keeps them
    stable; ``path`` is where dt sits under its column; ``existing`` is the table's type there)."""
    if isinstance(dt, T.StructType):
        old = {f.name: f.type for f in existing.fields} if isinstance(existing, C.Struct) else {}
        names = (nested or NestedNames()).names(path, [f.name for f in dt.fields], tuple(old))
        fields: dict[str, C.DataType] = {}
        for f in dt.fields:  # raw names recorded for one field merge into it
            name = names[f.name]
            t = normalised_type(f.dataType, f"{where}.{f.name}", nested, f"{path}.{name}", old.get(name))
            fields[name] = C.unify(fields[name], t) if name in fields else t
        return C.Struct(tuple(C.Field(n, t) for n, t in fields.items()))
    if isinstance(dt, T.ArrayType):
        return C.Array(normalised_type(dt.elementType, where, nested, f"{path}[]",
                                       existing.element if isinstance(existing, C.Array) else None))
    if isinstance(dt, T.MapType):
        return C.Map(normalised_type(dt.keyType, where),
                     normalised_type(dt.valueType, where, nested, f"{path}{{}}",
                                     existing.value if isinstance(existing, C.Map) else None))
    return to_catalog(dt, where)


def quoted(name: str) -> SparkColumn:
    """A top-level column by its exact raw name, whatever characters it holds."""
    return F.col("`" + name.replace("`", "``") + "`")


def resolve_names(df: DataFrame, fields: list[T.StructField], reserved: set[str],
                  known: dict[str, str] | None = None) -> dict[str, str]:
    """Top-level raw name -> column name for one read group.

    A raw name the table has seen before keeps its column (``known``, recorded in the column's
    Parameters), so the mapping never changes over time. Other raw names are normalised; names that
    normalise alike (orderId, order_id, "Order ID"), here or in the table, are one column when no record
    sets more than one of them; when some record does, the data says they differ and the new ones get
    suffixes. Only groups with such names pay for the check (one aggregate).
    """
    known = known or {}
    fixed = {f.name: known[f.name] for f in fields if f.name in known}
    by_target: dict[str, list[str]] = {}
    for f in fields:
        by_target.setdefault(fixed.get(f.name) or normalize_identifier(f.name), []).append(f.name)
    clashes = {target: raws for target, raws in by_target.items()
               if len(raws) > 1 and target not in reserved and any(r not in fixed for r in raws)}
    together: dict[str, int] = {}
    if clashes:
        checks = [F.sum(F.when(sum((quoted(r).isNotNull().cast("int") for r in raws), F.lit(0)) > 1, 1)
                        .otherwise(0)).alias(f"c{i}") for i, raws in enumerate(clashes.values())]
        row = df.agg(*checks).collect()[0]
        together = {target: row[f"c{i}"] or 0 for i, target in enumerate(clashes)}
    mapping = dict(fixed)
    for target, raws in by_target.items():
        if target in reserved:
            continue
        if len(raws) == 1 or together.get(target) == 0:
            mapping.update({raw: target for raw in raws if raw not in fixed})
    rest = [f.name for f in fields if f.name not in mapping]
    taken = reserved | set(mapping.values()) | set(known.values())
    mapping.update(assign_names(rest, taken=taken))
    return mapping


def group_columns(fields: list[T.StructField], names: dict[str, str], typed: dict[str, C.DataType] | None = None,
                  nested: NestedNames | None = None, table: dict[str, C.DataType] | None = None) -> list[Column]:
    """The normalised columns of one group (raw names merged into one column unify their types);
    ``typed`` gives columns the type their content has (lakeward.content_types); ``table`` holds the
    table's column types, whose nested fields keep their names."""
    types: dict[str, C.DataType] = {}
    for f in fields:
        name = names[f.name]
        t = (typed or {}).get(f.name) or normalised_type(f.dataType, f.name, nested, name, (table or {}).get(name))
        types[name] = C.unify(types[name], t) if name in types else t
    return [Column(n, t) for n, t in types.items()]


def _any(conditions: list[SparkColumn]) -> SparkColumn | None:
    return reduce(lambda a, b: a | b, conditions) if conditions else None


def conform(expr: SparkColumn, src: T.DataType, tgt: C.DataType, nested: NestedNames | None = None,
            path: str = "") -> tuple[SparkColumn, SparkColumn | None]:
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
            converted = [conform(expr.getField(s.name), s.dataType, field.type, nested, f"{path}.{field.name}")
                         for s in sources]
            parts.append((converted[0][0] if len(converted) == 1 else F.coalesce(*[c[0] for c in converted]))
                         .alias(field.name))
            lossy += [loss for _, loss in converted if loss is not None]
            if len(sources) > 1:  # raw names merged into one field, both set in this record
                lossy.append(sum((expr.getField(s.name).isNotNull().cast("int") for s in sources), F.lit(0)) > 1)
        return F.when(expr.isNull(), F.lit(None)).otherwise(F.struct(*parts)), _any(lossy)
    if isinstance(tgt, C.Array) and isinstance(src, T.ArrayType):
        def element(x: SparkColumn) -> tuple[SparkColumn, SparkColumn | None]:
            return conform(x, src.elementType, tgt.element, nested, f"{path}[]")
        converted = F.transform(expr, lambda x: element(x)[0])
        if element(F.lit(None).cast(src.elementType))[1] is None:
            return converted, None
        return converted, F.coalesce(F.exists(expr, lambda x: F.coalesce(element(x)[1], F.lit(False))), F.lit(False))
    if isinstance(tgt, C.Map) and isinstance(src, T.MapType):
        def value(v: SparkColumn) -> tuple[SparkColumn, SparkColumn | None]:
            return conform(v, src.valueType, tgt.value, nested, f"{path}{{}}")
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

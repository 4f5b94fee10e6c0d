"""Spark <-> catalog type mapping, as one visitor each way. Importing pyspark.sql.types starts no JVM."""
from __future__ import annotations

from pyspark.sql import types as T

from catalog import types as C
from lakeward.errors import SchemaEvolutionError

_TO_CATALOG = {
    T.BooleanType: C.BOOLEAN, T.ByteType: C.TINYINT, T.ShortType: C.SMALLINT, T.IntegerType: C.INT,
    T.LongType: C.BIGINT, T.FloatType: C.FLOAT, T.DoubleType: C.DOUBLE, T.StringType: C.STRING,
    T.BinaryType: C.BINARY, T.DateType: C.DATE, T.TimestampType: C.TIMESTAMP,
    T.TimestampNTZType: C.TIMESTAMP, T.NullType: C.STRING, T.CharType: C.STRING, T.VarcharType: C.STRING,
}
_TO_SPARK = {
    "boolean": T.BooleanType(), "tinyint": T.ByteType(), "smallint": T.ShortType(), "int": T.IntegerType(),
    "bigint": T.LongType(), "float": T.FloatType(), "double": T.DoubleType(), "string": T.StringType(),
    "binary": T.BinaryType(), "date": T.DateType(), "timestamp": T.TimestampType(),
}


def to_catalog(dt: T.DataType, where: str = "") -> C.DataType:
    """Spark type -> catalog type. Struct field names are kept as they are (normalising is separate)."""
    if isinstance(dt, T.StructType):
        return C.Struct(tuple(C.Field(f.name, to_catalog(f.dataType, f"{where}.{f.name}")) for f in dt.fields))
    if isinstance(dt, T.ArrayType):
        return C.Array(to_catalog(dt.elementType, f"{where}[]"))
    if isinstance(dt, T.MapType):
        return C.Map(to_catalog(dt.keyType, f"{where}.key"), to_catalog(dt.valueType, f"{where}.value"))
    if isinstance(dt, T.DecimalType):
        return C.Decimal(dt.precision, dt.scale)
    for spark_class, catalog_type in _TO_CATALOG.items():
        if isinstance(dt, spark_class):
            return catalog_type
    raise SchemaEvolutionError(f"field {where.lstrip('.') or '?'} has type {dt.simpleString()}, "
                               "which Athena cannot store; cast it in the source or drop it")


def to_spark(t: C.DataType) -> T.DataType:
    if isinstance(t, C.Struct):
        return T.StructType([T.StructField(f.name, to_spark(f.type), True) for f in t.fields])
    if isinstance(t, C.Array):
        return T.ArrayType(to_spark(t.element), True)
    if isinstance(t, C.Map):
        return T.MapType(to_spark(t.key), to_spark(t.value), True)
    if isinstance(t, C.Decimal):
        return T.DecimalType(t.precision, t.scale)
    return _TO_SPARK[t.name]

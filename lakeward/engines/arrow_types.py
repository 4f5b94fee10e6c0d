"""Catalog -> Arrow type mapping (for Delta schemas and for reading tables back)."""
from __future__ import annotations

import pyarrow as pa

from catalog import types as C
from catalog.schema import Column
from lakeward.errors import TableFormatError

_PRIMITIVES = {
    "boolean": pa.bool_(), "tinyint": pa.int8(), "smallint": pa.int16(), "int": pa.int32(),
    "bigint": pa.int64(), "float": pa.float32(), "double": pa.float64(), "string": pa.string(),
    "binary": pa.binary(), "date": pa.date32(),
    # Spark writes TIMESTAMP_MICROS adjusted to UTC (DESIGN: outputTimestampType), which Delta calls
    # "timestamp" and Athena reads as timestamp.
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def to_arrow(t: C.DataType, utc: bool = True) -> pa.DataType:
    """utc=False gives zone-less timestamps (UTC wall time), which is how Athena presents them."""
    if isinstance(t, C.Struct):
        return pa.struct([pa.field(f.name, to_arrow(f.type, utc)) for f in t.fields])
    if isinstance(t, C.Array):
        return pa.list_(pa.field("element", to_arrow(t.element, utc)))
    if isinstance(t, C.Map):
        return pa.map_(to_arrow(t.key, utc), to_arrow(t.value, utc))
    if isinstance(t, C.Decimal):
        return pa.decimal128(t.precision, t.scale)
    if t == C.TIMESTAMP and not utc:
        return pa.timestamp("us")
    return _PRIMITIVES[t.name]


def arrow_schema(columns: tuple[Column, ...] | list[Column], utc: bool = True) -> pa.Schema:
    return pa.schema([pa.field(c.name, to_arrow(c.type, utc)) for c in columns])


def from_arrow(t: pa.DataType, where: str = "") -> C.DataType:
    """Arrow -> catalog type (for schemas read back from Delta logs)."""
    if pa.types.is_struct(t):
        return C.Struct(tuple(C.Field(t.field(i).name, from_arrow(t.field(i).type, f"{where}.{t.field(i).name}"))
                              for i in range(t.num_fields)))
    if pa.types.is_map(t):
        return C.Map(from_arrow(t.key_type, where), from_arrow(t.item_type, where))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        return C.Array(from_arrow(t.value_type, where))
    if pa.types.is_decimal(t):
        return C.Decimal(t.precision, t.scale)
    if pa.types.is_timestamp(t):
        return C.TIMESTAMP
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return C.STRING
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return C.BINARY
    for name, arrow_type in _PRIMITIVES.items():
        if t == arrow_type:
            return C.Primitive(name)
    raise TableFormatError(f"column {where.lstrip('.') or '?'} has Arrow type {t}, which lakeward cannot map")

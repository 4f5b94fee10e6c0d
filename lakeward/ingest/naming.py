"""Column names and types of a batch before any data is converted: raw names mapped to the table's
columns (stably over time), and raw Spark types to catalog types with normalised nested field names.
Pure: no Spark job runs here (the callers count what needs the data)."""
from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import types as T

from catalog import types as C
from catalog.names import NestedNames, assign_names, normalize_identifier
from catalog.schema import Column
from lakeward.engines.spark_types import to_catalog

Together = Callable[[dict[str, list[str]]], dict[str, int]]  # {target: raw names} -> records setting several


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


def resolve_names(fields: list[T.StructField], reserved: set[str], known: dict[str, str] | None = None,
                  together: Together | None = None) -> dict[str, str]:
    """Top-level raw name -> column name for one read group.

    A raw name the table has seen before keeps its column (``known``, recorded in the column's
    Parameters), so the mapping never changes over time. Other raw names are normalised; names that
    normalise alike (orderId, order_id, "Order ID"), here or in the table, are one column when no record
    sets more than one of them; when some record does, the data says they differ and the new ones get
    suffixes. ``together`` counts, over the data, the records that set more than one raw name of each
    such group (only parts with such names pay for the check, one aggregate).
    """
    known = known or {}
    fixed = {f.name: known[f.name] for f in fields if f.name in known}
    by_target: dict[str, list[str]] = {}
    for f in fields:
        by_target.setdefault(fixed.get(f.name) or normalize_identifier(f.name), []).append(f.name)
    clashes = {target: raws for target, raws in by_target.items()
               if len(raws) > 1 and target not in reserved and any(r not in fixed for r in raws)}
    counts = together(clashes) if clashes and together is not None else {}
    mapping = dict(fixed)
    for target, raws in by_target.items():
        if target in reserved:
            continue
        if len(raws) == 1 or counts.get(target) == 0:
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



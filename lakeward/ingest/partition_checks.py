"""Athena partition projection at ingest: the projection a table has or a request declares, checked
against the table, and the reason a row's partition value lies where Athena would never read it."""
from __future__ import annotations

from typing import Any

from pyspark.sql import functions as F

from catalog import types as C
from catalog.partition_projection import (
    ProjectedColumn,
    projected_columns,
    projection_parameters,
)
from catalog.schema import Column
from lakeward.engines.spark_columns import quoted
from lakeward.errors import SpecError


def table_projection(request: Any, existing_parameters: dict[str, str], keys: list[Column], table: str,
                     root: str, parameters: dict[str, str], swapped: bool = False) -> list[ProjectedColumn]:
    """The partition projection the table has, or the one the request declares (written into
    ``parameters``); checked against the table's format, keys and write mode."""
    names = [k.name for k in keys]
    if request.projection:
        if request.format == "delta":
            raise SpecError(f"projection: table {table} is a Delta table; Athena reads a Delta table's partitions "
                            "from its log, so partition projection applies to Parquet tables only")
        types = {k.name: C.to_hive(k.type) for k in keys}
        for c in request.projection:
            wanted = {"integer": ("int", "bigint", "smallint", "tinyint"), "date": ("date", "string")}.get(c.type)
            if c.name in types and wanted and types[c.name] not in wanted:
                raise SpecError(f"projection.{c.name}: a {c.type} projection needs a {' or '.join(wanted)} partition "
                                f"column; {c.name} is {types[c.name]}")
        if swapped and not projected_columns(existing_parameters, names):
            raise SpecError(f"projection: partitions of table {table} were replaced (overwrite or optimize) and live "
                            "in generation folders the template cannot name; projection can only be declared for "
                            "a table whose partitions never moved")
        for key in [k for k in parameters if k.startswith("projection.")]:  # the declaration replaces the old one
            del parameters[key]
        parameters.update(projection_parameters(list(request.projection), names, root))
    projection = list(request.projection) or projected_columns(existing_parameters, names)
    if projection and request.write.replaces:
        raise SpecError(f"{request.spell('mode')} {request.write.mode}: table {table} uses partition projection, which fixes each "
                        "partition's location (storage.location.template), while replacing a partition swaps its "
                        "location. Append instead, or use a Delta table")
    return projection


def projection_reason(projection: list[ProjectedColumn]) -> Any:
    """Why a row's partition value lies outside the declared projection (Athena would never read it)."""
    checks = []
    for c in projection:
        key = quoted(c.name)
        text = key.cast("string")
        outside = f" is outside the projection declared for {c.name}"
        checks.append(F.when(key.isNull(), F.lit(f"partition {c.name} is NULL; a projected partition needs a value")))
        if c.type == "enum":
            checks.append(F.when(~text.isin(list(c.values)), F.concat(
                F.lit(f"partition {c.name}="), text, F.lit(f"{outside} (values {','.join(c.values)})"))))
        if c.type == "date":  # a string column's value must also be the folder name the template expects
            checks.append(F.when(~text.rlike(r"^\d{4}-\d{2}-\d{2}$") | key.cast("date").isNull(), F.concat(
                F.lit(f"partition {c.name}="), text, F.lit(f"{outside} (dates are written yyyy-MM-dd)"))))
        low, high = c.bounds()
        cast = "date" if c.type == "date" else "bigint"
        for bound, beyond in ((low, lambda b: key.cast(cast) < F.lit(b).cast(cast)),
                              (high, lambda b: key.cast(cast) > F.lit(b).cast(cast))):
            if bound is not None:
                checks.append(F.when(beyond(bound), F.concat(
                    F.lit(f"partition {c.name}="), text, F.lit(f"{outside} (range {c.range})"))))
    return F.coalesce(*checks) if checks else None

"""Pure functions that build Glue TableInput / PartitionInput dicts. No API calls here."""
from __future__ import annotations

from typing import Any

from catalog.schema import CatalogTable, Column, Partition, TableDefinition
from catalog.types import parse_hive, partition_coercible, to_hive, widen
from lakeward.errors import CatalogError

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
FORMAT_PARAMETER = "lakeward.format"
PARTITION_COLUMNS_PARAMETER = "lakeward.partition_columns"


def _column_input(column: Column) -> dict[str, Any]:
    result: dict[str, Any] = {"Name": column.name, "Type": to_hive(column.type)}
    if column.comment:
        result["Comment"] = column.comment[:255]
    if column.parameters:
        result["Parameters"] = dict(column.parameters)
    return result


def _storage_descriptor(location: str, columns: tuple[Column, ...]) -> dict[str, Any]:
    return {
        "Columns": [_column_input(c) for c in columns],
        "Location": location,
        "InputFormat": PARQUET_INPUT,
        "OutputFormat": PARQUET_OUTPUT,
        "Compressed": False,
        "StoredAsSubDirectories": False,
        "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
    }


def table_input(table: TableDefinition) -> dict[str, Any]:
    """TableInput for Athena.

    Parquet: an EXTERNAL_TABLE with the Parquet SerDe, classification=parquet and Hive partition keys
    (not repeated among the columns). Delta: Athena's native Delta reader (table_type=DELTA at the table
    location); the columns mirror the Delta log schema, partition columns included, as Delta records
    them, and no Glue partitions are registered.
    """
    parameters = {"EXTERNAL": "TRUE", FORMAT_PARAMETER: table.format, **table.parameters}
    if table.format == "parquet":
        parameters.update({"classification": "parquet", "parquet.compression": "SNAPPY"})
        return {
            "Name": table.name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
            "PartitionKeys": [_column_input(c) for c in table.partition_keys],
            "StorageDescriptor": _storage_descriptor(table.location, table.columns),
        }
    parameters.update({
        "classification": "delta",
        "table_type": "DELTA",
        "spark.sql.sources.provider": "delta",
        PARTITION_COLUMNS_PARAMETER: ",".join(c.name for c in table.partition_keys),
    })
    descriptor = _storage_descriptor(table.location, (*table.columns, *table.partition_keys))
    descriptor["SerdeInfo"]["Parameters"]["path"] = table.location
    return {"Name": table.name, "TableType": "EXTERNAL_TABLE", "Parameters": parameters,
            "PartitionKeys": [], "StorageDescriptor": descriptor}


def partition_input(table: TableDefinition, values: tuple[str, ...], location: str,
                    columns: tuple[Column, ...] | None = None) -> dict[str, Any]:
    return {"Values": list(values), "StorageDescriptor": _storage_descriptor(location, columns or table.columns),
            "Parameters": {}}


def partition_columns(table: TableDefinition, own: tuple[Column, ...] | None) -> tuple[Column, ...]:
    """A registered partition's columns after the table's changed: the table's, except where the table
    widened a type past what its files' readers follow (bigint to double) and Athena casts per partition:
    there the partition keeps declaring the type its files hold."""
    mine = {c.name: c for c in own or ()}
    kept = []
    for column in table.columns:
        old = mine.get(column.name)
        if (old is not None and old.type != column.type and widen(old.type, column.type, "parquet") != column.type
                and partition_coercible(old.type, column.type)):
            column = Column(column.name, old.type, column.comment, column.parameters)
        kept.append(column)
    return tuple(kept)


def behind(table: TableDefinition, partition: Partition) -> list[str]:
    """The columns a partition declares with a narrower type than the table's, which its files hold:
    files of the table's type must not be added to it before it is rewritten."""
    mine = {c.name: c.type for c in partition.columns or ()}
    return [c.name for c in table.columns if c.name in mine and mine[c.name] != c.type
            and widen(mine[c.name], c.type, "parquet") != c.type]


def _column_from(entry: dict[str, Any], table: str) -> Column:
    try:
        return Column(entry["Name"], parse_hive(entry["Type"]), entry.get("Comment"),
                      dict(entry.get("Parameters") or {}))
    except Exception as e:
        raise CatalogError(f"table {table}: column {entry.get('Name')!r} has an unreadable type "
                           f"{entry.get('Type')!r}: {e}") from e


def table_from_glue(database: str, table: dict[str, Any]) -> CatalogTable:
    """Read a Glue GetTable response back into a TableDefinition (the inverse of table_input)."""
    name = table["Name"]
    parameters = dict(table.get("Parameters") or {})
    descriptor = table.get("StorageDescriptor") or {}
    columns = tuple(_column_from(c, name) for c in descriptor.get("Columns", []))
    is_delta = parameters.get("table_type", "").upper() == "DELTA"
    if is_delta:
        keys = [k for k in parameters.get(PARTITION_COLUMNS_PARAMETER, "").split(",") if k]
        partition_keys = tuple(c for c in columns if c.name in keys)
        columns = tuple(c for c in columns if c.name not in keys)
    else:
        partition_keys = tuple(_column_from(c, name) for c in table.get("PartitionKeys", []))
    own = {"EXTERNAL", FORMAT_PARAMETER, "classification", "parquet.compression", "table_type",
           "spark.sql.sources.provider", PARTITION_COLUMNS_PARAMETER}
    definition = TableDefinition(
        database=database, name=name, format="delta" if is_delta else "parquet",
        location=descriptor.get("Location", ""), columns=columns, partition_keys=partition_keys,
        parameters={k: v for k, v in parameters.items() if k not in own})
    foreign = None
    if FORMAT_PARAMETER not in parameters:
        kind = parameters.get("table_type") or parameters.get("classification") or descriptor.get(
            "SerdeInfo", {}).get("SerializationLibrary") or "unknown"
        foreign = f"{kind} table not created by lakeward"
    return CatalogTable(definition, table.get("VersionId"), foreign)


def partition_from_glue(entry: dict[str, Any], table: str = "") -> Partition:
    descriptor = entry.get("StorageDescriptor") or {}
    columns = tuple(_column_from(c, table) for c in descriptor.get("Columns", [])) or None
    return Partition(tuple(entry["Values"]), descriptor.get("Location", ""), columns)

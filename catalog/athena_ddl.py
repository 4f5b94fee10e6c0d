"""The Athena DDL that would create a registered table (SHOW CREATE TABLE). No API calls here."""
from __future__ import annotations

from catalog.definitions import PARQUET_INPUT, PARQUET_OUTPUT, PARQUET_SERDE, table_input
from catalog.schema import Column, TableDefinition
from catalog.types import to_hive


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _columns(columns: tuple[Column, ...]) -> str:
    lines = []
    for c in columns:
        comment = f" COMMENT {_string(c.comment)}" if c.comment else ""
        lines.append(f"  {_quoted(c.name)} {to_hive(c.type)}{comment}")
    return ", \n".join(lines)


def _properties(parameters: dict[str, str]) -> str:
    return ", \n".join(f"  {_string(k)}={_string(v)}" for k, v in sorted(parameters.items()))


def create_table_ddl(table: TableDefinition) -> str:
    """Athena's CREATE EXTERNAL TABLE for the table as lakeward registers it (Hive DDL, backquoted names).

    Delta tables are Athena's native Delta reader: location and table_type only, the schema is the log's.
    """
    name = f"{_quoted(table.database)}.{_quoted(table.name)}"
    if table.format == "delta":
        return (f"CREATE EXTERNAL TABLE {name}\nLOCATION\n  {_string(table.location)}\n"
                f"TBLPROPERTIES (\n  'table_type'='DELTA')")
    parameters = {k: v for k, v in table_input(table)["Parameters"].items() if k != "EXTERNAL"}
    parts = [f"CREATE EXTERNAL TABLE {name}(\n{_columns(table.columns)})"]
    if table.partition_keys:
        parts.append(f"PARTITIONED BY ( \n{_columns(table.partition_keys)})")
    parts += [f"ROW FORMAT SERDE \n  {_string(PARQUET_SERDE)} ",
              f"STORED AS INPUTFORMAT \n  {_string(PARQUET_INPUT)} ",
              f"OUTPUTFORMAT \n  {_string(PARQUET_OUTPUT)}",
              f"LOCATION\n  {_string(table.location)}",
              f"TBLPROPERTIES (\n{_properties(parameters)})"]
    return "\n".join(parts)

"""What a job left behind, read back through the same APIs analysts and engines use."""
from __future__ import annotations

import json
from typing import Any

import boto3


class Landed:
    """Assertions on the Glue Data Catalog and the lake after a job ran (AWS settings from the environment)."""

    def __init__(self) -> None:
        self.glue = boto3.client("glue")

    def table(self, name: str) -> dict[str, Any]:
        database, table = name.split(".", 1)
        return self.glue.get_table(DatabaseName=database, Name=table)["Table"]

    def columns(self, name: str) -> dict[str, str]:
        """Column name -> Glue type, partition keys last (Athena's view of the table)."""
        table = self.table(name)
        return {c["Name"]: c["Type"] for c in (*table["StorageDescriptor"]["Columns"], *table.get("PartitionKeys", []))}

    def partitions(self, name: str) -> list[tuple[str, ...]]:
        database, table = name.split(".", 1)
        pages = self.glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table)
        return sorted(tuple(p["Values"]) for page in pages for p in page["Partitions"])

    def delta_log(self, name: str) -> list[dict[str, Any]]:
        """The Delta table's commits, oldest first (delta-rs reads the log at the registered location)."""
        from deltalake import DeltaTable

        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings

        location = self.table(name)["StorageDescriptor"]["Location"]
        with aws_context(Settings.load()) as aws:
            return list(reversed(DeltaTable(location, storage_options=aws.storage_options()).history()))

    def rows(self, name: str, order_by: str | None = None) -> list[dict[str, Any]]:
        """Every row as Athena would read it (lakeward's local Athena: DuckDB over the registered files)."""
        from lakeward.query import run_query
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings

        sql = f"SELECT * FROM {name}" + (f" ORDER BY {order_by}" if order_by else "")
        with aws_context(Settings.load()) as aws:
            result = run_query(aws, sql)
        return json.loads(json.dumps(result.records(), default=str))

    def assert_table(self, name: str, columns: dict[str, str] | None = None,
                     partitions: list[tuple[str, ...]] | None = None, rows: int | None = None) -> None:
        if columns is not None:
            found_columns = self.columns(name)
            assert found_columns == columns, f"{name}: columns {found_columns} != {columns}"
        if partitions is not None:
            found_partitions = self.partitions(name)
            assert found_partitions == sorted(partitions), f"{name}: partitions {found_partitions}"
        if rows is not None:
            found = len(self.rows(name))
            assert found == rows, f"{name}: {found} rows, expected {rows}"

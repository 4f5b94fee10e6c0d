"""The Glue Data Catalog backend: the only module here that calls the Glue API.

It takes a boto3 Glue client, so the caller decides the endpoint and credentials. botocore errors are
translated into lakeward errors that name the database, table or partition concerned.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator

from botocore.exceptions import BotoCoreError, ClientError

from catalog.definitions import (
    partition_columns,
    partition_from_glue,
    partition_input,
    table_from_glue,
    table_input,
)
from catalog.schema import CatalogTable, Partition, TableDefinition
from lakeward.errors import (
    CatalogAccessDenied,
    CatalogError,
    ConcurrentModificationError,
)

PARTITION_BATCH = 100  # BatchCreatePartition accepts at most 100 partitions per call.
_ACCESS_DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}


def _translate(e: Exception, action: str, resource: str) -> CatalogError:
    if isinstance(e, ClientError):
        code = e.response.get("Error", {}).get("Code", "")
        message = e.response.get("Error", {}).get("Message", str(e))
        if code in _ACCESS_DENIED:
            return CatalogAccessDenied(
                f"not allowed to {action} {resource}: {message} (grant glue:{action} on it to the job's role)")
        if code == "ConcurrentModificationException":
            return ConcurrentModificationError(f"{resource} was changed by another writer during {action}")
        return CatalogError(f"Glue {action} on {resource} failed: {code}: {message}")
    return CatalogError(f"Glue {action} on {resource} failed: {e}")


class GlueCatalog:
    def __init__(self, client: Any, catalog_id: str | None = None):
        self._glue = client
        self._catalog = {"CatalogId": catalog_id} if catalog_id else {}

    def _call(self, action: str, resource: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._glue, _snake(action))(**self._catalog, **kwargs)
        except (ClientError, BotoCoreError) as e:
            raise _translate(e, action, resource) from e

    def ensure_database(self, database: str, default_permissions: list[dict[str, Any]] | None = None) -> bool:
        """Create the database when missing; True when it was created. ``default_permissions``: the Lake
        Formation permissions its new tables get (``[]``: none, so only LF-tag grants apply)."""
        db_input: dict[str, Any] = {"Name": database, "Description": "managed by lakeward"}
        if default_permissions is not None:
            db_input["CreateTableDefaultPermissions"] = default_permissions
        try:
            self._glue.create_database(**self._catalog, DatabaseInput=db_input)
            return True
        except ClientError as e:
            if e.response["Error"]["Code"] == "AlreadyExistsException":
                return False
            raise _translate(e, "CreateDatabase", f"database {database}") from e
        except BotoCoreError as e:
            raise _translate(e, "CreateDatabase", f"database {database}") from e

    def load_table(self, database: str, name: str) -> CatalogTable | None:
        try:
            response = self._glue.get_table(**self._catalog, DatabaseName=database, Name=name)
        except ClientError as e:
            if e.response["Error"]["Code"] == "EntityNotFoundException":
                return None
            raise _translate(e, "GetTable", f"table {database}.{name}") from e
        except BotoCoreError as e:
            raise _translate(e, "GetTable", f"table {database}.{name}") from e
        return table_from_glue(database, response["Table"])

    def create_table(self, table: TableDefinition) -> None:
        self._call("CreateTable", f"table {table.qualified_name}", DatabaseName=table.database,
                   TableInput=table_input(table))

    def update_table(self, table: TableDefinition, version_id: str | None) -> None:
        """Replace the table definition if nobody changed it since version_id was read."""
        kwargs: dict[str, Any] = {"DatabaseName": table.database, "TableInput": table_input(table)}
        if version_id is not None:
            kwargs["VersionId"] = version_id
        self._call("UpdateTable", f"table {table.qualified_name}", **kwargs)

    def add_partitions(self, table: TableDefinition, partitions: list[Partition]) -> int:
        """Register partitions in batches of 100; existing ones are left as they are. Returns how many
        were created."""
        created = 0
        for start in range(0, len(partitions), PARTITION_BATCH):
            chunk = partitions[start:start + PARTITION_BATCH]
            response = self._call(
                "BatchCreatePartition", f"table {table.qualified_name}", DatabaseName=table.database,
                TableName=table.name,
                PartitionInputList=[partition_input(table, p.values, p.location) for p in chunk])
            failures = [e for e in response.get("Errors", [])
                        if e.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException"]
            if failures:
                first = failures[0]
                raise CatalogError(
                    f"Glue refused {len(failures)} partition(s) of {table.qualified_name}, first "
                    f"{first.get('PartitionValues')}: {first.get('ErrorDetail', {}).get('ErrorMessage')}")
            created += len(chunk) - len(response.get("Errors", []))
        return created

    def partition_locations(self, table: TableDefinition, values: list[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
        """The registered location of each of these partitions that exists, 1,000 per BatchGetPartition."""
        return {v: p.location for v, p in self.get_partitions(table, values).items()}

    def get_partitions(self, table: TableDefinition, values: list[tuple[str, ...]]) -> dict[tuple[str, ...], Partition]:
        """Each of these partitions that exists, as registered, 1,000 per BatchGetPartition."""
        found: dict[tuple[str, ...], Partition] = {}
        for start in range(0, len(values), 1000):
            chunk = values[start:start + 1000]
            response = self._call("BatchGetPartition", f"table {table.qualified_name}", DatabaseName=table.database,
                                  TableName=table.name, PartitionsToGet=[{"Values": list(v)} for v in chunk])
            for entry in response.get("Partitions", []):
                p = partition_from_glue(entry, table.qualified_name)
                found[p.values] = p
            if response.get("UnprocessedKeys"):
                raise CatalogError(f"Glue did not return {len(response['UnprocessedKeys'])} partition(s) of "
                                   f"{table.qualified_name} (throttled); run the ingest again")
        return found

    def put_partitions(self, table: TableDefinition, partitions: list[Partition]) -> None:
        """Register these partitions at these locations: created when new, else their location (and
        columns) replaced, each in one call per 100 partitions. Safe to repeat."""
        existing = self.partition_locations(table, [p.values for p in partitions])
        fresh = [p for p in partitions if p.values not in existing]
        moved = [p for p in partitions if p.values in existing and existing[p.values] != p.location]
        self.add_partitions(table, fresh)
        self._update_partitions(table, moved)

    def delete_partitions(self, table: TableDefinition, values: list[tuple[str, ...]]) -> None:
        for start in range(0, len(values), 25):  # BatchDeletePartition takes at most 25
            response = self._call("BatchDeletePartition", f"table {table.qualified_name}", DatabaseName=table.database,
                                  TableName=table.name,
                                  PartitionsToDelete=[{"Values": list(v)} for v in values[start:start + 25]])
            failures = [e for e in response.get("Errors", [])
                        if e.get("ErrorDetail", {}).get("ErrorCode") != "EntityNotFoundException"]
            if failures:
                raise CatalogError(f"Glue refused to remove {len(failures)} partition(s) of {table.qualified_name}, "
                                   f"first {failures[0].get('PartitionValues')}: "
                                   f"{failures[0].get('ErrorDetail', {}).get('ErrorMessage')}")

    def update_partition_columns(self, table: TableDefinition) -> int:
        """Give every registered partition the table's columns after a schema change (keeping a narrower
        type its files hold where Athena casts it: catalog.definitions.partition_columns), 100 per call."""
        partitions = [replace(p, columns=partition_columns(table, p.columns))
                      for p in self.partitions(table.database, table.name)]
        self._update_partitions(table, partitions)
        return len(partitions)

    def _update_partitions(self, table: TableDefinition, partitions: list[Partition]) -> None:
        for start in range(0, len(partitions), PARTITION_BATCH):
            chunk = partitions[start:start + PARTITION_BATCH]
            response = self._call(
                "BatchUpdatePartition", f"table {table.qualified_name}", DatabaseName=table.database,
                TableName=table.name,
                Entries=[{"PartitionValueList": list(p.values),
                          "PartitionInput": partition_input(table, p.values, p.location, p.columns)} for p in chunk])
            if response.get("Errors"):
                first = response["Errors"][0]
                raise CatalogError(
                    f"Glue refused to update {len(response['Errors'])} partition(s) of {table.qualified_name}, "
                    f"first {first.get('PartitionValueList')}: {first.get('ErrorDetail', {}).get('ErrorMessage')}")

    def partitions(self, database: str, name: str, expression: str | None = None) -> Iterator[Partition]:
        kwargs: dict[str, Any] = {**self._catalog, "DatabaseName": database, "TableName": name}
        if expression:
            kwargs["Expression"] = expression
        try:
            for page in self._glue.get_paginator("get_partitions").paginate(**kwargs):
                for entry in page.get("Partitions", []):
                    yield partition_from_glue(entry, f"{database}.{name}")
        except (ClientError, BotoCoreError) as e:
            raise _translate(e, "GetPartitions", f"table {database}.{name}") from e


    def databases(self) -> list[str]:
        try:
            return [d["Name"] for page in self._glue.get_paginator("get_databases").paginate(**self._catalog)
                    for d in page.get("DatabaseList", [])]
        except (ClientError, BotoCoreError) as e:
            raise _translate(e, "GetDatabases", "the catalog") from e

    def tables(self, database: str | None = None) -> Iterator[CatalogTable]:
        """Every table (of one database, or of all), paginated; foreign tables are marked as such."""
        names = self.databases() if database is None else [database]
        try:
            for db in names:
                for page in self._glue.get_paginator("get_tables").paginate(**self._catalog, DatabaseName=db):
                    for entry in page.get("TableList", []):
                        yield table_from_glue(db, entry)
        except (ClientError, BotoCoreError) as e:
            raise _translate(e, "GetTables", f"database {database or '(all)'}") from e

    def table_versions(self, database: str, name: str) -> list[tuple[str, Any, dict[str, Any]]]:
        """(version id, update time, Glue table) for every stored version, oldest first."""
        versions = []
        try:
            for page in self._glue.get_paginator("get_table_versions").paginate(
                    **self._catalog, DatabaseName=database, TableName=name):
                versions.extend(page.get("TableVersions", []))
        except (ClientError, BotoCoreError) as e:
            raise _translate(e, "GetTableVersions", f"table {database}.{name}") from e
        result = [(v["VersionId"], v["Table"].get("UpdateTime") or v["Table"].get("CreateTime"), v["Table"])
                  for v in versions]
        return sorted(result, key=lambda v: int(v[0]) if str(v[0]).isdigit() else 0)


def _snake(action: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in action).lstrip("_")

"""Making a written batch part of its table, recovering batches whose writer died, and keeping the Glue
Data Catalog equal to what the table holds."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog.evolution import merge_concurrent
from catalog.glue import GlueCatalog
from catalog.schema import CatalogTable, Column, Partition, TableDefinition
from lakeward.arrow_types import arrow_schema
from lakeward.aws import AwsContext
from lakeward.errors import ConcurrentModificationError
from lakeward.ledger import Ledger
from lakeward.partitioning import HIVE_NULL
from lakeward.storage import Storage, join
from lakeward.tables import DataFile, delta, publish


@dataclass
class CommitContext:
    aws: AwsContext
    storage: Storage
    glue: GlueCatalog
    ledger: Ledger


def staging_uri(table_uri: str, batch_id: str) -> str:
    return join(table_uri, "_lakeward", "staging", batch_id)


CATALOG_RETRIES = 5


def sync_catalog(glue: GlueCatalog, table: TableDefinition, current: CatalogTable | None) -> bool:
    """Create or update the Glue table so it equals ``table``; True when Glue changed. A table that is
    already equal gets no new version. The update names the version it was based on; when another
    writer stored a newer one meanwhile, ours is merged onto theirs and tried again. Parquet partitions
    registered earlier get the new columns too, so Athena never sees a partition schema that disagrees."""
    glue.ensure_database(table.database)
    for _ in range(CATALOG_RETRIES):
        if current is None:
            glue.create_table(table)
            return True
        if current.definition == table:
            return False
        try:
            glue.update_table(table, current.version_id)
        except ConcurrentModificationError:
            current = glue.load_table(table.database, table.name)
            if current is not None:
                table = merge_concurrent(current.definition, table)
            continue
        if table.format == "parquet" and table.partition_keys and _types(current.definition) != _types(table):
            glue.update_partition_columns(table)
        return True
    raise ConcurrentModificationError(f"table {table.qualified_name} kept changing under us; gave up after "
                                      f"{CATALOG_RETRIES} attempts. Run the ingest again")


def _types(table: TableDefinition) -> list[tuple[str, object]]:
    return [(c.name, c.type) for c in table.columns]


def recover(ctx: CommitContext, records: list[dict[str, Any]], table_uri: str) -> list[str]:
    """Complete or roll back every pending batch (the caller holds the table lock, so their writers are
    gone); returns what was done, for the report."""
    done = []
    for record in Ledger.pending(records):
        batch_id = record["batch_id"]
        txn = record.get("delta_txn")
        if txn is not None and delta.is_committed(table_uri, ctx.aws.storage_options(), txn):
            ctx.ledger.commit(record)
            done.append(f"batch {batch_id}: found in the Delta log, ledger completed")
            continue
        ctx.storage.delete_many([join(table_uri, rel) for rel in record.get("outputs", [])])
        ctx.storage.delete_dir(staging_uri(table_uri, batch_id))
        if record.get("quarantine"):
            ctx.storage.delete_dir(record["quarantine"])
        ctx.ledger.remove(batch_id)
        done.append(f"batch {batch_id}: interrupted before commit, rolled back ({len(record.get('outputs', []))} files)")
    return done


def _partitions(table: TableDefinition, files: list[DataFile]) -> list[Partition]:
    seen: dict[str, Partition] = {}
    for f in files:
        folder = f.relative.rsplit("/", 1)[0]
        if folder not in seen:
            values = tuple(HIVE_NULL if f.partition_values[k.name] is None else f.partition_values[k.name]
                           for k in table.partition_keys)
            seen[folder] = Partition(values, join(table.location, folder))
    return list(seen.values())


def commit_parquet(ctx: CommitContext, table: TableDefinition, current: CatalogTable | None,
                   files: list[DataFile], batch: dict[str, Any]) -> None:
    # The schema is widened before any file that needs it becomes visible.
    sync_catalog(ctx.glue, table, current)
    record = ctx.ledger.begin(outputs=[f.relative for f in files], **batch)
    publish(ctx.storage, staging_uri(table.location, batch["batch_id"]), table.location, files)
    if table.partition_keys:
        ctx.glue.add_partitions(table, _partitions(table, files))
    ctx.ledger.commit(record)
    ctx.storage.delete_dir(staging_uri(table.location, batch["batch_id"]))


def commit_delta(ctx: CommitContext, table: TableDefinition, current: CatalogTable | None, files: list[DataFile],
                 batch: dict[str, Any], evolved: list[Column] | None) -> int:
    options = ctx.aws.storage_options()
    txn = delta.next_transaction(table.location, options)
    record = ctx.ledger.begin(outputs=[f.relative for f in files], delta_txn=txn, **batch)
    publish(ctx.storage, staging_uri(table.location, batch["batch_id"]), table.location, files)  # invisible until committed
    actions = delta.add_actions(ctx.storage, table.location, files)
    version = delta.commit(table.location, options, arrow_schema([*table.columns, *table.partition_keys]),
                           [k.name for k in table.partition_keys], actions, batch["batch_id"], table.name, txn,
                           arrow_schema(evolved) if evolved else None)
    sync_catalog(ctx.glue, table, current)  # after the commit, so Glue always follows the Delta log
    ctx.ledger.commit(record)
    ctx.storage.delete_dir(staging_uri(table.location, batch["batch_id"]))
    return version

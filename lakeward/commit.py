"""Making a written batch part of its table, recovering batches whose writer died, and keeping the Glue
Data Catalog equal to what the table holds."""
from __future__ import annotations

import time
from functools import partial
from dataclasses import dataclass, replace
from typing import Any

from catalog.evolution import merge_concurrent
from catalog.glue import GlueCatalog
from catalog.partition_projection import is_projected
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
        if record.get("swap") is not None:
            found = ctx.glue.load_table(record["table"][0], record["table"][1]) if record.get("table") else None
            if found is not None:
                apply_swap(ctx, found.definition, record["swap"])
                ctx.ledger.commit({**record, "replaced": record["swap"]["replaced"], "replaced_at": time.time()})
                done.append(f"batch {batch_id}: its files were published; the location swap was completed")
                continue
        ctx.storage.delete_many([join(table_uri, rel) for rel in record.get("outputs", [])])
        ctx.storage.delete_dir(staging_uri(table_uri, batch_id))
        if record.get("quarantine"):
            ctx.storage.delete_dir(record["quarantine"])
        ctx.ledger.remove(batch_id)
        done.append(f"batch {batch_id}: interrupted before commit, rolled back ({len(record.get('outputs', []))} files)")
    return done


GENERATION_FOLDER = "_gen="  # hidden: readers of the location it replaces never list it


@dataclass
class Outcome:
    replaced: list[str]  # partitions (k=v/...) or "the whole table" that the batch replaced
    files_removed: int = 0
    version: int | None = None  # Delta


def _folder(f: DataFile) -> str:
    return f.relative.rsplit("/", 1)[0] if "/" in f.relative else ""


def _values(table: TableDefinition, f: DataFile) -> tuple[str, ...]:
    return tuple(HIVE_NULL if f.partition_values[k.name] is None else f.partition_values[k.name]  # type: ignore[misc]
                 for k in table.partition_keys)


def commit_parquet(ctx: CommitContext, table: TableDefinition, current: CatalogTable | None,
                   files: list[DataFile], batch: dict[str, Any], root: str, retired: set[str] = frozenset()) -> Outcome:
    """Make the batch's files part of a Parquet table. ``append`` puts them in each partition's current
    location (registering new partitions); ``overwrite``/``overwrite-partitions`` write a new generation
    folder and swap the locations in Glue, so a reader sees a partition either before or after, never
    half replaced; the replaced locations are removed later by ``lakeward vacuum``."""
    mode = batch.get("mode", "append")
    replacing = mode in ("overwrite", "overwrite-partitions")
    staging = staging_uri(root, batch["batch_id"])
    folders = sorted({_folder(f) for f in files})
    values = {_folder(f): _values(table, f) for f in files}
    registered: dict[tuple[str, ...], str] = {}
    if replacing:
        generation = join(root, GENERATION_FOLDER + batch["batch_id"])
        location = {folder: join(generation, folder) if folder else generation for folder in folders}
    elif table.partition_keys:
        known = current is not None and not is_projected(table.parameters)
        registered = ctx.glue.partition_locations(table, [values[f] for f in folders]) if known else {}
        fresh_home = join(root, GENERATION_FOLDER + batch["batch_id"])  # for a new partition whose folder was retired
        location = {folder: registered.get(values[folder]) or
                    (join(fresh_home, folder) if join(root, folder) in retired else join(root, folder))
                    for folder in folders}
    else:
        location = {"": current.definition.location if current else root}
    if not table.partition_keys:  # an existing table's location moves only with the swap
        table = replace(table, location=current.definition.location if current else location[""])
    # The schema is widened before any file that needs it becomes visible.
    sync_catalog(ctx.glue, table, current)
    targets = [(join(staging, f.relative), join(location[_folder(f)], f.relative.rsplit("/", 1)[-1])) for f in files]
    record = ctx.ledger.begin(outputs=[t[len(root) + 1:] for _, t in targets], **batch)
    ctx.storage.move_many(targets)
    outcome = Outcome([])
    if replacing:
        swap = _swap_plan(ctx, table, current, mode, {values[f]: location[f] for f in folders}, location.get(""))
        record = ctx.ledger.save({**record, "swap": swap})  # from here on, recovery completes the swap
        apply_swap(ctx, table, swap)
        record = {**record, "replaced": swap["replaced"], "replaced_at": time.time()}
        outcome = Outcome(swap["described"])
    elif table.partition_keys and not is_projected(table.parameters):  # projected: Athena computes them
        ctx.glue.add_partitions(table, [Partition(values[f], location[f]) for f in folders if values[f] not in registered])
    ctx.ledger.commit(record)
    ctx.storage.delete_dir(staging)
    return outcome


def _swap_plan(ctx: CommitContext, table: TableDefinition, current: CatalogTable | None, mode: str,
               new: dict[tuple[str, ...], str], data_location: str | None) -> dict[str, Any]:
    if not table.partition_keys:
        old = current.definition.location if current else None
        return {"table_location": data_location, "partitions": [], "drop": [],
                "replaced": [old] if old else [], "described": ["the whole table"]}
    if current is None:
        registered: dict[tuple[str, ...], str] = {}
    elif mode == "overwrite":  # every partition: those the batch lacks are removed
        registered = {p.values: p.location for p in ctx.glue.partitions(table.database, table.name)}
    else:  # only the batch's own partitions are looked up, 1,000 per call
        registered = ctx.glue.partition_locations(table, list(new))
    drop = [v for v in registered if v not in new] if mode == "overwrite" else []
    replaced = [registered[v] for v in new if v in registered] + [registered[v] for v in drop]
    names = [k.name for k in table.partition_keys]
    described = ["/".join(f"{n}={x}" for n, x in zip(names, v)) for v in sorted(new) if v in registered]
    described += ["/".join(f"{n}={x}" for n, x in zip(names, v)) + " (removed)" for v in sorted(drop)]
    return {"table_location": None, "partitions": [[list(v), loc] for v, loc in new.items()],
            "drop": [list(v) for v in drop], "replaced": replaced, "described": described}


def apply_swap(ctx: CommitContext, table: TableDefinition, swap: dict[str, Any]) -> None:
    """Point Glue at the new generation: the table's location in one UpdateTable, or each partition's in
    BatchCreate/UpdatePartition calls; in an overwrite, partitions the batch did not have are removed
    after. Repeatable, so recovery can finish a swap a dead writer began."""
    if swap["table_location"]:
        target = replace(table, location=swap["table_location"])
        sync_catalog(ctx.glue, target, ctx.glue.load_table(table.database, table.name))
        return
    ctx.glue.put_partitions(table, [Partition(tuple(v), loc) for v, loc in swap["partitions"]])
    ctx.glue.delete_partitions(table, [tuple(v) for v in swap["drop"]])


def commit_delta(ctx: CommitContext, table: TableDefinition, current: CatalogTable | None, files: list[DataFile],
                 batch: dict[str, Any], evolved: list[Column] | None, touched: set[str] | None = None,
                 compaction: bool = False) -> Outcome:
    """One Delta transaction: the batch's files added and, by mode, every live file (overwrite), the live
    files of the batch's partitions (overwrite-partitions) or the files a merge or a compaction rewrote
    removed. A compaction changes no data (dataChange false). A merge or compaction fails if a file it
    rewrote was removed by another writer meanwhile (its rows would come back twice)."""
    options = ctx.aws.storage_options()
    mode = batch.get("mode", "append")
    txn = delta.next_transaction(table.location, options)
    record = ctx.ledger.begin(outputs=[f.relative for f in files], delta_txn=txn, **batch)
    publish(ctx.storage, staging_uri(table.location, batch["batch_id"]), table.location, files)  # invisible until committed
    actions = delta.add_actions(ctx.storage, table.location, files, data_change=not compaction)
    remove = None
    replaced: list[str] = ["the whole table"] if mode == "overwrite" and current else []
    if mode == "overwrite-partitions":
        names = [k.name for k in table.partition_keys]
        present = {tuple(f.partition_values[n] for n in names) for f in files}
        remove = partial(delta.removals, keep=lambda f: tuple(f["partition_values"][n] for n in names) not in present)
        replaced = sorted("/".join(f"{n}={v}" for n, v in zip(names, values)) for values in present)
    elif touched is not None:
        remove = partial(delta.removals, keep=lambda f: f["path"] not in touched, data_change=not compaction,
                         required=touched)
    version, removed = delta.commit(table.location, options, arrow_schema([*table.columns, *table.partition_keys]),
                                    [k.name for k in table.partition_keys], actions, batch["batch_id"], table.name,
                                    txn, arrow_schema(evolved) if evolved else None, mode, remove,
                                    batch.get("caller_batch_id"))
    sync_catalog(ctx.glue, table, current)  # after the commit, so Glue always follows the Delta log
    ctx.ledger.commit(record)
    ctx.storage.delete_dir(staging_uri(table.location, batch["batch_id"]))
    return Outcome(replaced, removed, version)

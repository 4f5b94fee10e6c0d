"""Making a written batch part of a Delta table: one delta-rs transaction, then Glue follows the log.

By write mode the transaction adds the batch's files and removes every live file (overwrite), the live
files of the batch's partitions (overwrite-partitions) or the files a merge or a compaction rewrote. A
compaction changes no data (dataChange false). A merge or compaction fails if a file it rewrote was
removed by another writer meanwhile (its rows would come back twice).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from functools import partial

from deltalake import DeltaTable

from catalog.schema import CatalogTable, Column, TableDefinition
from lakeward.engines.arrow_types import arrow_schema
from lakeward.tables import DataFile, delta, publish
from lakeward.tables.catalog_sync import sync_catalog
from lakeward.tables.commit import CommitContext, Outcome, staging_uri
from lakeward.tables.ledger import BatchRecord


@dataclass(frozen=True)
class DeltaChange:
    """What the batch does to the table beyond adding its files."""

    evolved: tuple[Column, ...] = ()  # columns it adds or extends with nested fields
    touched: frozenset[str] | None = None  # log paths of the files a merge or compaction rewrote
    compaction: bool = False
    app_transactions: tuple[tuple[str, int], ...] = ()  # e.g. a stream consumer's (app id, batch number)
    metadata: dict[str, str] = field(default_factory=dict)
    retype: bool = False  # a column's type changes: the batch rewrote every file, committed as an overwrite


def commit_delta(ctx: CommitContext, table: TableDefinition, current: CatalogTable | None, files: list[DataFile],
                 record: BatchRecord, change: DeltaChange = DeltaChange(),
                 snapshot: DeltaTable | None = None) -> Outcome:
    options = ctx.aws.storage_options()
    snapshot = snapshot if snapshot is not None else delta.open_table(table.location, options)
    record.delta_txn = delta.next_transaction(snapshot)
    record.outputs = [f.relative for f in files]
    ctx.ledger.begin(record)
    publish(ctx.storage, staging_uri(table.location, record.batch_id), table.location, files)  # invisible until committed
    actions = delta.add_actions(ctx.storage, table.location, files, data_change=not change.compaction)
    remove = None
    replaced: list[str] = ["the whole table"] if (record.mode == "overwrite" or change.retype) and current else []
    if change.retype:
        pass  # an overwrite: every live file goes
    elif record.mode == "overwrite-partitions":
        names = [k.name for k in table.partition_keys]
        present = {tuple(f.partition_values[n] for n in names) for f in files}
        remove = partial(delta.removals, keep=lambda f: tuple(f["partition_values"][n] for n in names) not in present)
        replaced = sorted("/".join(f"{n}={v}" for n, v in zip(names, values)) for values in present)
    elif change.touched is not None:
        remove = partial(delta.removals, keep=lambda f: f["path"] not in change.touched,
                         data_change=not change.compaction, required=set(change.touched))
    extra = ((f"{delta.APP_ID}:{record.caller_batch_id}", 1),) if record.caller_batch_id else ()
    metadata = dict(change.metadata)
    if record.positions:
        metadata["lakeward.positions"] = json.dumps(dataclasses.asdict(record.positions), sort_keys=True)
    ctx.fence()
    version, removed = delta.commit(table.location, options, delta.DeltaCommit(
        arrow_schema([*table.columns, *table.partition_keys]), tuple(k.name for k in table.partition_keys),
        actions, record.batch_id, table.name, record.delta_txn,
        arrow_schema(list(change.evolved)) if change.evolved and not change.retype else None,
        "overwrite" if change.retype else record.mode, remove, (*extra, *change.app_transactions), metadata,
        change.retype), snapshot)
    changed = sync_catalog(ctx.glue, table, current)  # after the commit, so Glue always follows the Delta log
    ctx.ledger.commit(record, ctx.state)
    ctx.storage.delete_dir(staging_uri(table.location, record.batch_id))
    return Outcome(replaced, removed, version, changed)

"""Delta tables: Spark wrote the Parquet files; the driver commits them with delta-rs.

Each add action carries size, partition values and statistics (numRecords, minValues, maxValues,
nullCount) read from the Parquet footers, so Delta readers can skip files. The batch id is committed as
a Delta app transaction (app id ``lakeward``, one version per batch, recorded in the ledger), which is
how a crashed batch is recognised later.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Callable
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Schema, Transaction
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from catalog.schema import Column
from lakeward.engines.arrow_types import from_arrow
from lakeward.errors import ConcurrentWriteError, TableFormatError
from lakeward.runtime.storage import Storage, join
from lakeward.tables import DataFile

STRING_STATS_MAX = 32  # longer strings get no min/max (a truncated max would be a wrong bound)


def delta_uri(table_uri: str) -> str:
    return table_uri[len("file://"):] if table_uri.startswith("file://") else table_uri


APP_ID = "lakeward"


def _stat_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= STRING_STATS_MAX else None
    return None  # decimals, binaries: no bound rather than an imprecise one


def _nest(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


def footer_stats(metadata: pq.FileMetaData) -> dict[str, Any]:
    """Delta statistics of one Parquet file, from its row-group statistics."""
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, Any] = {}
    schema = metadata.schema
    for i in range(metadata.num_columns):
        path = schema.column(i).path.split(".")
        if any(p in ("list", "element", "key_value", "key", "value") for p in path[1:]):
            continue  # no statistics for lists and maps
        lo = hi = None
        null_count, complete = 0, True
        for rg in range(metadata.num_row_groups):
            stats = metadata.row_group(rg).column(i).statistics
            if stats is None:
                complete = False
                break
            if not stats.has_null_count:
                complete = False
                break
            null_count += stats.null_count
            if stats.has_min_max:
                lo = stats.min if lo is None else min(lo, stats.min)
                hi = stats.max if hi is None else max(hi, stats.max)
        if not complete:
            continue
        _nest(nulls, path, null_count)
        lo_v, hi_v = _stat_value(lo), _stat_value(hi)
        if lo_v is not None and hi_v is not None:
            _nest(mins, path, lo_v)
            _nest(maxs, path, hi_v)
    return {"numRecords": metadata.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls}


def add_actions(storage: Storage, table_uri: str, files: list[DataFile], data_change: bool = True) -> list[AddAction]:
    """Add actions for published files; statistics from the writer, else read from each file's footer."""
    def action(f: DataFile) -> AddAction:
        stats = f.stats
        if stats is None:
            fs, path = storage.resolve(join(table_uri, f.relative))
            with fs.open_input_file(path) as handle:
                stats = json.dumps(footer_stats(pq.ParquetFile(handle).metadata))
        return AddAction(f.relative, f.size, f.partition_values,  # delta-rs URI-encodes the path itself
                         int(time.time() * 1000), data_change, stats)
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(action, files))


def open_table(table_uri: str, storage_options: dict[str, str]) -> DeltaTable | None:
    try:
        return DeltaTable(delta_uri(table_uri), storage_options=storage_options or None)
    except TableNotFoundError:
        return None


@dataclass(frozen=True)
class LogSchema:
    columns: tuple[Column, ...]  # in log order, partition columns excluded
    partition_keys: tuple[Column, ...]


def annotated(log: LogSchema, glue_columns: tuple[Column, ...]) -> LogSchema:
    """The log's schema with what lakeward recorded about each column in Glue (comment, Parameters)."""
    recorded = {c.name: c for c in glue_columns}
    return LogSchema(*(tuple(replace(c, comment=recorded[c.name].comment, parameters=recorded[c.name].parameters)
                             if c.name in recorded else c for c in part) for part in (log.columns, log.partition_keys)))


def log_schema(table: DeltaTable | None) -> LogSchema | None:
    """The table schema as the Delta log records it, or None when there is no Delta table."""
    if table is None:
        return None
    arrow = pa.schema(table.schema().to_arrow())
    keys = table.metadata().partition_columns
    columns = [Column(f.name, from_arrow(f.type, f.name)) for f in arrow]
    return LogSchema(tuple(c for c in columns if c.name not in keys),
                     tuple(next(c for c in columns if c.name == k) for k in keys))


def next_transaction(table: DeltaTable | None) -> int:
    return ((table.transaction_version(APP_ID) if table else None) or 0) + 1


CHECKPOINT_INTERVAL = "10"  # delta-rs writes a checkpoint every 10 commits (Delta's own default)
COMMIT_RETRIES = 5

RemovalRule = Callable[[DeltaTable], list[RemoveAction]]


def removals(table: DeltaTable, keep: Callable[[dict[str, Any]], bool], data_change: bool = True,
             required: set[str] | None = None) -> list[RemoveAction]:
    """Remove actions for the table's live files that ``keep`` rejects (it gets path, size and the
    partition values as strings). With ``required``, every one of those paths must still be live."""
    now = int(time.time() * 1000)
    live = live_files(table)
    missing = (required or set()) - {f["path"] for f in live}
    if missing:
        raise TableFormatError(f"Delta table {table.table_uri}: {len(missing)} file(s) this rewrite read were "
                               f"removed by another writer meanwhile (e.g. {sorted(missing)[0]}); run it again")
    # the log's paths are URI-encoded; delta-rs encodes what it is given, so it gets them decoded
    return [RemoveAction(unquote(f["path"]), data_change, now, f["size"], f["partition_values"])
            for f in live if not keep(f)]


def live_files(table: DeltaTable, ranges: list[str] | None = None) -> list[dict[str, Any]]:
    """The snapshot's files: path (as the log has it), size and partition values as Delta strings; with
    ``ranges`` (one column), the file's min and max of it from the log's statistics (None when absent)."""
    keys = table.metadata().partition_columns
    actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    column = ranges[0] if ranges else None
    return [{"path": a["path"], "size": a["size_bytes"],
             "partition_values": {k: _partition_string(a.get(f"partition.{k}")) for k in keys},
             **({"min": a.get(f"min.{column}"), "max": a.get(f"max.{column}")} if column else {})} for a in actions]


def _partition_string(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.datetime):  # as Spark casts a timestamp to string: trailing zeros of the fraction cut
        text = value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
        return text + (f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "")
    return str(value)


@dataclass(frozen=True)
class DeltaCommit:
    """One transaction: the batch's add actions and, by mode, the live files it removes."""

    schema: pa.Schema  # the table's schema (data columns, then partition columns)
    partition_by: tuple[str, ...]
    actions: list[AddAction]
    batch_id: str
    name: str  # the table's name, recorded when the table is created
    txn_version: int  # lakeward's app transaction version for this batch
    evolved: pa.Schema | None = None  # columns this batch adds or extends with nested fields
    mode: str = "append"  # overwrite: every live file is replaced
    remove: RemovalRule | None = None  # the live files the same transaction takes out (partition overwrite, merge)
    app_transactions: tuple[tuple[str, int], ...] = ()  # more (app id, version): the caller's batch, a consumer's
    metadata: dict[str, str] = field(default_factory=dict)  # more commitInfo (a consumer's positions)
    retype: bool = False  # the schema's types change (an overwrite of every file): the log takes ``schema``


def commit(table_uri: str, storage_options: dict[str, str], change: DeltaCommit,
           table: DeltaTable | None = None) -> tuple[int, int]:
    """Commit the batch's files as one transaction; returns the new table version and the number of files
    it removed. ``table``: an open snapshot to start from (it is brought up to date on a conflict).

    Conflicts with another writer are retried on a fresh snapshot (delta-rs checks them: a file we remove
    that the other removed fails the commit). delta-rs keeps the log's schema on an append transaction
    whatever schema it is given, so ``evolved`` columns are merged into the log first (a metadata-only
    commit; harmless if the data commit then fails).
    """
    transactions = [Transaction(APP_ID, change.txn_version),
                    *(Transaction(app, version) for app, version in change.app_transactions)]
    properties = CommitProperties(custom_metadata={"lakeward.batch_id": change.batch_id, **change.metadata},
                                  app_transactions=transactions)
    options = storage_options or None
    partition_by = list(change.partition_by)
    table = table if table is not None else open_table(table_uri, storage_options)
    if table is None:
        create_table_with_add_actions(delta_uri(table_uri), Schema.from_arrow(change.schema), change.actions,
                                      mode="error", partition_by=partition_by or None, name=change.name,
                                      storage_options=options,
                                      configuration={"delta.checkpointInterval": CHECKPOINT_INTERVAL},
                                      commit_properties=properties)
        return 0, 0
    if table.metadata().partition_columns != partition_by:
        raise TableFormatError(
            f"Delta table at {table_uri} is partitioned by {table.metadata().partition_columns}, not "
            f"{partition_by}; ingest it with its own partition spec ({','.join(table.metadata().partition_columns)})")
    if change.evolved is not None and len(change.evolved):
        table.alter.add_columns(list(Schema.from_arrow(change.evolved).fields))
    for attempt in range(COMMIT_RETRIES):
        if attempt:
            table.update_incremental()
        removed = change.remove(table) if change.remove else []
        before = len(live_files(table)) if change.mode == "overwrite" else len(removed)
        try:
            table.create_write_transaction([*change.actions, *removed],
                                           mode="overwrite" if change.mode == "overwrite" else "append",
                                           schema=Schema.from_arrow(change.schema) if change.retype else table.schema(),
                                           partition_by=partition_by or None, commit_properties=properties)
        except CommitFailedError as e:
            if attempt == COMMIT_RETRIES - 1:
                raise ConcurrentWriteError(f"Delta table at {table_uri}: batch {change.batch_id} lost the commit "
                                           f"race {COMMIT_RETRIES} times to other writers ({e}); run it again") from e
            time.sleep(0.2 * (attempt + 1))
            continue
        table.update_incremental()
        if change.retype and table.metadata().configuration.get("delta.checkpointInterval") != CHECKPOINT_INTERVAL:
            # delta-rs writes the new schema in a metaData action without the table's configuration
            table.alter.set_table_properties({"delta.checkpointInterval": CHECKPOINT_INTERVAL})
            table.update_incremental()
        return table.version(), before
    raise AssertionError("unreachable")


def caller_batch_committed(table: DeltaTable | None, batch_id: str) -> bool:
    return table is not None and table.transaction_version(f"{APP_ID}:{batch_id}") is not None



"""Table upkeep: ``optimize`` compacts small files, ``vacuum`` removes files no reader can still need.

optimize: in each chosen partition with two or more files under 3/4 of the target size, the rows are
rewritten into files of the target size by the batch writer. Delta: one transaction removes the small
files and adds the new ones (dataChange false). Parquet: the whole partition is rewritten into a new
generation folder and its location swapped in Glue, as an overwrite does. The rows written must equal
the rows read, or nothing is committed.

vacuum: Delta through delta-rs (unreferenced files older than the retention); Parquet from the ledger:
the locations an overwrite or compaction replaced, once the retention has passed since the swap, minus
anything under a location Glue still points at or written after the swap. Both remove the staging
folders of batches that no longer exist.
"""
from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import sqlglot
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from catalog.glue import GlueCatalog
from catalog.partition_projection import is_projected
from catalog.partition_spec import HIVE_NULL
from catalog.schema import CatalogTable, TableDefinition
from lakeward.errors import SpecError
from lakeward.ingest.request import parse_table_name, table_root
from lakeward.query import prune_partitions, table_partitions
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings
from lakeward.runtime.storage import Storage, join
from lakeward.tables import delta
from lakeward.tables.commit import CommitContext, staging_uri
from lakeward.tables.delta_commit import DeltaChange, commit_delta
from lakeward.tables.inventory import PartFiles, table_inventory
from lakeward.tables.ledger import BatchRecord, Ledger, LedgerState
from lakeward.tables.lock import TableLock
from lakeward.tables.parquet import commit_parquet
from lakeward.tables.recovery import recover
from lakeward.tables.table_files import footers, read_table_files
from lakeward.tables.writer import PART_PREFIX, WritePlan, no_source, partition_string, write_batch

DEFAULT_RETAIN_HOURS = 168.0  # Delta's default deleted-file retention: a week


@dataclass(frozen=True)
class FileSizes:
    files: int
    bytes: int
    smallest: int
    median: int
    largest: int

    @classmethod
    def of(cls, sizes: list[int]) -> "FileSizes":
        if not sizes:
            return cls(0, 0, 0, 0, 0)
        return cls(len(sizes), sum(sizes), min(sizes), int(statistics.median(sizes)), max(sizes))


@dataclass
class OptimizeReport:
    table: str
    format: str
    target_bytes: int
    before: FileSizes  # of the partitions considered
    after: FileSizes
    compacted: list[str] = field(default_factory=list)  # partitions rewritten
    rows: int = 0
    delta_version: int | None = None


@dataclass
class VacuumReport:
    table: str
    format: str
    retain_hours: float
    dry_run: bool
    files: list[str] = field(default_factory=list)
    staging: list[str] = field(default_factory=list)


def _load(aws: AwsContext, name: str) -> tuple[GlueCatalog, CatalogTable]:
    database, table = parse_table_name(name)
    glue = GlueCatalog(aws.client("glue"))
    found = glue.load_table(database, table)
    if found is None:
        raise SpecError(f"table {database}.{table} is not in the Glue Data Catalog")
    if found.foreign:
        raise SpecError(f"table {database}.{table} is a {found.foreign}; lakeward maintains only its own tables")
    return glue, found


def _select(parts: list[PartFiles], where: str | None, table: Any) -> list[PartFiles]:
    if not where:
        return parts
    try:
        predicate = sqlglot.parse_one(where, read="athena")
    except sqlglot.errors.ParseError as e:
        raise SpecError(f"--where {where!r}: not a valid Athena predicate ({e})") from e
    keys = {k.name for k in table.partition_keys}
    named = {c.name for c in predicate.find_all(sqlglot.exp.Column)}
    if not named or not named <= keys:
        raise SpecError(f"--where {where!r}: may name only partition columns ({', '.join(sorted(keys)) or 'none'})")
    return [parts[i] for i in prune_partitions(table, [(p.values, None) for p in parts], predicate)]


@contextmanager
def _locked(aws: AwsContext, name: str, settings: Settings, purpose: str,
            dry_run: bool) -> Iterator[tuple[CatalogTable, CommitContext]]:
    """The table under its writer lock, with batches whose writer died finished or rolled back first
    (their files must not be compacted or removed, nor their Delta transaction number taken); a dry run
    changes nothing, so a dead batch's files are left as they are."""
    glue, current = _load(aws, name)
    storage = Storage.for_aws(aws)
    root = table_root(current.definition)
    with TableLock(storage, root, f"lakeward {purpose} {name}", settings.lock_lease_s, settings.lock_wait_s) as lock:
        ledger = Ledger(storage, root, settings.ledger_tail)
        ctx = CommitContext(aws, storage, glue, ledger, ledger.load(), lock)
        if not dry_run:
            recover(ctx, root)
        _, current = _load(aws, name)
        yield current, ctx


def run_optimize(spark: SparkSession, aws: AwsContext, name: str, settings: Settings, where: str | None = None,
                 dry_run: bool = False) -> OptimizeReport:
    target = settings.target_bytes
    with _locked(aws, name, settings, "optimize", dry_run) as (current, ctx):
        storage, root = ctx.storage, table_root(current.definition)
        table = _with_log_schema(aws, current.definition)
        if table.format == "parquet" and is_projected(table.parameters):
            raise SpecError(f"optimize {name}: the table uses partition projection, which fixes each partition's "
                            "location, while compaction swaps it; compact before enabling projection")
        parts = _select(table_inventory(aws, storage, current.definition), where, table)
        small = [p for p in parts if sum(1 for _, size in p.files if size < target * 0.75) >= 2]
        report = OptimizeReport(table.qualified_name, table.format, target,
                                FileSizes.of([s for p in parts for _, s in p.files]), FileSizes.of([]))
        report.compacted = [p.label() for p in small]
        if dry_run or not small:
            report.after = report.before
            return report
        rewrite = {p.label(): [(u, s) for u, s in p.files if table.format == "parquet" or s < target * 0.75]
                   for p in small}
        uris = [u for files in rewrite.values() for u, _ in files]
        found = footers(storage, uris)
        expected = sum(rows for rows, _ in found.values())
        batch_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-optimize-{uuid.uuid4().hex[:6]}"
        staging = staging_uri(root, batch_id)
        plan = WritePlan(staging, batch_id, tuple(k.name for k in table.partition_keys), target,
                         s3_options=storage.s3_options, null_value=HIVE_NULL)
        rows = read_table_files(spark, table, uris, found)
        frame = rows.select(
            *[F.col(f"`{c.name}`") for c in table.columns],
            *[partition_string(F.col(f"`{k.name}`")).alias(f"{PART_PREFIX}{i}") for i, k in enumerate(table.partition_keys)],
            *no_source())
        output = write_batch(frame, plan, max(1, -(-sum(s for files in rewrite.values() for _, s in files) // target)))
        written = output.files
        report.rows = sum(f.rows or 0 for f in written)
        if report.rows != expected:
            storage.delete_dir(staging)
            raise SpecError(f"optimize {name}: rewrote {report.rows} rows of {expected}; nothing was committed")
        record = BatchRecord(batch_id, ctx.state.next_seq, operation="optimize", table=(table.database, table.name))
        if table.format == "delta":
            touched = {path for p in small for (u, s), path in zip(p.files, p.log_paths) if s < target * 0.75}
            outcome = commit_delta(ctx, table, current, written, record, DeltaChange(touched=frozenset(touched),
                                                                                      compaction=True))
            report.delta_version = outcome.version
        else:
            record.mode = "overwrite-partitions"
            commit_parquet(ctx, table, current, written, record, root)
        kept = [s for p in parts for _, s in p.files if p.label() not in rewrite or
                (table.format == "delta" and s >= target * 0.75)]
        report.after = FileSizes.of(kept + [f.size for f in written])
        return report


def _with_log_schema(aws: AwsContext, table: TableDefinition) -> TableDefinition:
    """A Delta table's columns as its log has them (Glue may lag after a failed update)."""
    if table.format != "delta":
        return table
    log = delta.log_schema(delta.open_table(table.location, aws.storage_options()))
    if log is None:
        return table
    log = delta.annotated(log, (*table.columns, *table.partition_keys))
    return replace(table, columns=log.columns, partition_keys=log.partition_keys)


def run_vacuum(aws: AwsContext, name: str, settings: Settings, retain_hours: float = DEFAULT_RETAIN_HOURS,
               dry_run: bool = False, force: bool = False) -> VacuumReport:
    if retain_hours < DEFAULT_RETAIN_HOURS and not force:
        raise SpecError(f"--retain-hours {retain_hours:g}: readers may still use files replaced less than "
                        f"{DEFAULT_RETAIN_HOURS:g} hours ago (a long query, a stale snapshot); pass --force if none can")
    cutoff = time.time() - retain_hours * 3600
    with _locked(aws, name, settings, "vacuum", dry_run) as (current, ctx):
        table = current.definition
        storage, root = ctx.storage, table_root(table)
        report = VacuumReport(table.qualified_name, table.format, retain_hours, dry_run)
        if table.format == "delta":
            snapshot = delta.open_table(table.location, aws.storage_options())
            if snapshot is not None:
                report.files = [join(table.location, f) for f in snapshot.vacuum(
                    retention_hours=int(retain_hours), dry_run=dry_run, enforce_retention_duration=False)]
        else:
            report.files = _replaced_files(aws, storage, current, ctx.state, cutoff)
            if not dry_run:
                storage.delete_many(report.files)
        report.staging = _stale_staging(storage, root, ctx.state, cutoff)
        if not dry_run:
            for folder in report.staging:
                storage.delete_dir(folder)
    return report


def _stale_staging(storage: Storage, root: str, state: LedgerState, cutoff: float) -> list[str]:
    """Staging folders of batches that are not pending (their writer died before its ledger record, or
    left them behind) and untouched for the retention."""
    base = join(root, "_lakeward", "staging")
    pending = {r.batch_id for r in state.pending}
    newest: dict[str, float] = {}
    for entry in storage.list_files(base, skip_hidden=False):
        folder = entry.uri[len(base) + 1:].split("/", 1)[0]
        newest[folder] = max(newest.get(folder, 0.0), entry.mtime_ns / 1e9)
    return [join(base, f) for f, at in sorted(newest.items()) if f not in pending and at < cutoff]


def _replaced_files(aws: AwsContext, storage: Storage, current: CatalogTable, state: LedgerState,
                    cutoff: float) -> list[str]:
    table = current.definition
    live = [table.location] if not table.partition_keys else [where for _, where in table_partitions(aws, table)]
    live_prefixes = [where.rstrip("/") + "/" for where in live if isinstance(where, str)]
    live_files = {uri for where in live if not isinstance(where, str) for uri in where}  # projected: listed files
    doomed = []
    for at, locations in state.replacements:
        if at > cutoff:
            continue
        for location in locations:
            for entry in storage.list_files(location):
                if (entry.mtime_ns / 1e9 >= at or entry.uri in live_files
                        or any(entry.uri.startswith(p) for p in live_prefixes)):
                    continue  # written after the swap, or under a location readers use now
                doomed.append(entry.uri)
    return sorted(set(doomed))

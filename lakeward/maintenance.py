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
from concurrent.futures import ThreadPoolExecutor
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

import pyarrow.parquet as pq
import sqlglot
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from catalog.glue import GlueCatalog
from catalog.partition_projection import is_projected
from catalog.schema import CatalogTable, TableDefinition
from lakeward.aws import AwsContext
from lakeward.batch_writer import PART_PREFIX, WritePlan, partition_string, target_bytes, write_batch
from lakeward.commit import CommitContext, commit_delta, commit_parquet, recover, staging_uri
from lakeward.errors import SpecError
from lakeward.ledger import Ledger, next_seq
from lakeward.locking import TableLock
from lakeward.partitioning import HIVE_NULL
from lakeward.pipeline import parse_table_name, table_root
from lakeward.query import prune_partitions, table_partitions
from lakeward.readers import FILE_COL, MTIME_COL, RAW_COL, REASON_COL, SIZE_COL
from lakeward.storage import Storage, join
from lakeward.table_files import read_table_files
from lakeward.tables import DataFile, delta

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


@dataclass
class _Part:
    values: dict[str, str | None]
    files: list[tuple[str, int]]  # (uri, size)
    log_paths: list[str] = field(default_factory=list)  # Delta: the paths as the log has them

    def label(self) -> str:
        return "/".join(f"{k}={v}" for k, v in self.values.items()) or "(whole table)"


def _load(aws: AwsContext, name: str) -> tuple[GlueCatalog, CatalogTable]:
    database, table = parse_table_name(name)
    glue = GlueCatalog(aws.client("glue"))
    found = glue.load_table(database, table)
    if found is None:
        raise SpecError(f"table {database}.{table} is not in the Glue Data Catalog")
    if found.foreign:
        raise SpecError(f"table {database}.{table} is a {found.foreign}; lakeward maintains only its own tables")
    return glue, found


def _inventory(aws: AwsContext, storage: Storage, current: CatalogTable) -> list[_Part]:
    table = current.definition
    if table.format == "delta":
        snapshot = delta.open_table(table.location, aws.storage_options())
        parts: dict[tuple, _Part] = {}
        for f in delta.live_files(snapshot) if snapshot else []:
            key = tuple(f["partition_values"].get(k.name) for k in table.partition_keys)
            part = parts.setdefault(key, _Part(dict(zip([k.name for k in table.partition_keys], key)), []))
            part.files.append((join(table.location, unquote(f["path"])), f["size"]))
            part.log_paths.append(f["path"])
        return list(parts.values())
    # one listing per location Glue points at: the table's, or each partition's (projected tables never get here)
    locations = [({}, table.location)] if not table.partition_keys else table_partitions(aws, table)
    return [_Part(values, [(e.uri, e.size) for e in storage.list_files(str(location)) if e.uri.endswith(".parquet")])
            for values, location in locations]


def _select(parts: list[_Part], where: str | None, table: Any) -> list[_Part]:
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


def run_optimize(spark: SparkSession, aws: AwsContext, name: str, where: str | None = None,
                 target: int | None = None, dry_run: bool = False) -> OptimizeReport:
    glue, current = _load(aws, name)
    storage = Storage.for_aws(aws)
    root = table_root(current.definition)
    target = target or target_bytes()
    with TableLock(storage, root, f"lakeward optimize {name}"):
        if not dry_run:
            _recover(aws, storage, glue, root)
        glue, current = _load(aws, name)
        table = _with_log_schema(aws, current.definition)
        if table.format == "parquet" and is_projected(table.parameters):
            raise SpecError(f"optimize {name}: the table uses partition projection, which fixes each partition's "
                            "location, while compaction swaps it; compact before enabling projection")
        parts = _select(_inventory(aws, storage, current), where, table)
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
        expected = _row_count(storage, uris)
        batch_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-optimize-{uuid.uuid4().hex[:6]}"
        staging = staging_uri(root, batch_id)
        plan = WritePlan(staging, batch_id, tuple(k.name for k in table.partition_keys), target_bytes=target,
                         s3_options=storage.s3_options, null_value=HIVE_NULL)
        rows = read_table_files(spark, table, uris)
        frame = rows.select(
            *[F.col(f"`{c.name}`") for c in table.columns],
            *[partition_string(F.col(f"`{k.name}`")).alias(f"{PART_PREFIX}{i}") for i, k in enumerate(table.partition_keys)],
            F.lit(None).cast("string").alias(FILE_COL), F.lit(None).cast("string").alias(REASON_COL),
            F.lit(None).cast("string").alias(RAW_COL), F.lit(None).cast("long").alias(SIZE_COL),
            F.lit(None).cast("long").alias(MTIME_COL))
        output = write_batch(frame, plan, max(1, -(-sum(s for files in rewrite.values() for _, s in files) // target)))
        written = [DataFile(f["relative"], f["partition_values"], f["size"], f["rows"], f["stats"]) for f in output.files]
        report.rows = sum(f.rows or 0 for f in written)
        if report.rows != expected:
            storage.delete_dir(staging)
            raise SpecError(f"optimize {name}: rewrote {report.rows} rows of {expected}; nothing was committed")
        ledger = Ledger(storage, root)
        ctx = CommitContext(aws, storage, glue, ledger)
        batch = {"batch_id": batch_id, "seq": next_seq(ledger.records()), "sources": [], "operation": "optimize",
                 "table": [table.database, table.name]}
        if table.format == "delta":
            touched = {path for p in small for (u, s), path in zip(p.files, p.log_paths) if s < target * 0.75}
            outcome = commit_delta(ctx, table, current, written, batch, None, touched, compaction=True)
            report.delta_version = outcome.version
        else:
            commit_parquet(ctx, table, current, written, {**batch, "mode": "overwrite-partitions"}, root)
        kept = [s for p in parts for _, s in p.files if p.label() not in rewrite or
                (table.format == "delta" and s >= target * 0.75)]
        report.after = FileSizes.of(kept + [f.size for f in written])
        return report


def _recover(aws: AwsContext, storage: Storage, glue: GlueCatalog, root: str) -> None:
    """Finish or roll back batches whose writer died, before touching the table (their files must not
    be compacted, nor their Delta transaction number taken)."""
    ledger = Ledger(storage, root)
    recover(CommitContext(aws, storage, glue, ledger), ledger.records(), root)


def _with_log_schema(aws: AwsContext, table: TableDefinition) -> TableDefinition:
    """A Delta table's columns as its log has them (Glue may lag after a failed update)."""
    if table.format != "delta":
        return table
    log = delta.log_schema(table.location, aws.storage_options())
    if log is None:
        return table
    log = delta.annotated(log, (*table.columns, *table.partition_keys))
    return replace(table, columns=log.columns, partition_keys=log.partition_keys)


def _row_count(storage: Storage, uris: list[str]) -> int:
    """Rows in these files, from their footers (read in parallel: on S3 each is a ranged GET)."""
    def rows(uri: str) -> int:
        fs, path = storage.resolve(uri)
        with fs.open_input_file(path) as handle:
            return pq.ParquetFile(handle).metadata.num_rows
    with ThreadPoolExecutor(16) as pool:
        return sum(pool.map(rows, uris))


def run_vacuum(aws: AwsContext, name: str, retain_hours: float = DEFAULT_RETAIN_HOURS, dry_run: bool = False,
               force: bool = False) -> VacuumReport:
    if retain_hours < DEFAULT_RETAIN_HOURS and not force:
        raise SpecError(f"--retain-hours {retain_hours:g}: readers may still use files replaced less than "
                        f"{DEFAULT_RETAIN_HOURS:g} hours ago (a long query, a stale snapshot); pass --force if none can")
    glue, current = _load(aws, name)
    storage = Storage.for_aws(aws)
    table = current.definition
    root = table_root(table)
    report = VacuumReport(table.qualified_name, table.format, retain_hours, dry_run)
    cutoff = time.time() - retain_hours * 3600
    with TableLock(storage, root, f"lakeward vacuum {name}"):
        if not dry_run:  # a dry run changes nothing, so a dead batch's files are left as they are
            _recover(aws, storage, glue, root)
        glue, current = _load(aws, name)
        table = current.definition
        records = Ledger(storage, root).records()
        if table.format == "delta":
            snapshot = delta.open_table(table.location, aws.storage_options())
            if snapshot is not None:
                report.files = [join(table.location, f) for f in snapshot.vacuum(
                    retention_hours=int(retain_hours), dry_run=dry_run, enforce_retention_duration=False)]
        else:
            report.files = _replaced_files(aws, storage, current, records, cutoff)
            if not dry_run:
                storage.delete_many(report.files)
        report.staging = _stale_staging(storage, root, records, cutoff)
        if not dry_run:
            for folder in report.staging:
                storage.delete_dir(folder)
    return report


def _stale_staging(storage: Storage, root: str, records: list[dict[str, Any]], cutoff: float) -> list[str]:
    """Staging folders of batches that are not pending (their writer died before its ledger record, or
    left them behind) and untouched for the retention."""
    base = join(root, "_lakeward", "staging")
    pending = {r["batch_id"] for r in Ledger.pending(records)}
    newest: dict[str, float] = {}
    for entry in storage.list_files(base, skip_hidden=False):
        folder = entry.uri[len(base) + 1:].split("/", 1)[0]
        newest[folder] = max(newest.get(folder, 0.0), entry.mtime_ns / 1e9)
    return [join(base, f) for f, at in sorted(newest.items()) if f not in pending and at < cutoff]


def _replaced_files(aws: AwsContext, storage: Storage, current: CatalogTable, records: list[dict[str, Any]],
                    cutoff: float) -> list[str]:
    table = current.definition
    live = [table.location] if not table.partition_keys else [where for _, where in table_partitions(aws, table)]
    live_prefixes = [where.rstrip("/") + "/" for where in live if isinstance(where, str)]
    live_files = {uri for where in live if not isinstance(where, str) for uri in where}  # projected: listed files
    doomed = []
    for record in records:
        at = record.get("replaced_at")
        if record["status"] != "committed" or at is None or at > cutoff:
            continue
        for location in record.get("replaced", []):
            for entry in storage.list_files(location):
                if (entry.mtime_ns / 1e9 >= at or entry.uri in live_files
                        or any(entry.uri.startswith(p) for p in live_prefixes)):
                    continue  # written after the swap, or under a location readers use now
                doomed.append(entry.uri)
    return sorted(set(doomed))

"""Batch ingestion as clear steps: resolve the table and lock it, recover, pick the new files, read,
project onto the evolved schema, count, quarantine, write files, commit and register, report.
"""
from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import reduce
from typing import Any

import pyarrow.fs as pafs
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from catalog import types as C
from catalog.evolution import EVOLUTION_MODES, RESCUED_COLUMN, EvolutionMode, EvolutionPlan, plan_evolution
from catalog.glue import GlueCatalog
from lakeformation.classifier import CLASSIFIED_PARAMETER
from lakeformation.spec import DEFAULT as DEFAULT_GOVERNANCE
from lakeformation.spec import GovernanceSpec
from catalog.partition_projection import ProjectedColumn
from catalog.names import (NESTED_RAW_NAMES_PARAMETER, RAW_NAMES_PARAMETER, NestedNames, normalize_identifier,
                           recorded_nested_names, recorded_raw_names)
from catalog.schema import CatalogTable, Column, TableDefinition, TableFormat, TABLE_FORMATS
from lakeward.aws import AwsContext
from lakeward.content_types import INTEGRAL_TYPES, ContentType, epoch_unit, from_epoch, infer_content_types
from lakeward.commit import CommitContext, commit_delta, commit_parquet, recover, staging_uri, sync_catalog
from lakeward.errors import ConcurrentWriteError, SourceError, SpecError
from lakeward.batch_writer import ACTION_COL, PART_PREFIX, partition_string, BatchOutput, WritePlan, unpartitioned_file_count, write_batch
from lakeward.governance import protect_database, record_classification, tag_columns
from lakeward.accounting import account, conflict_evidence, partition_report, read_sources
from lakeward.ledger import Ledger, next_seq
from lakeward.partition_checks import projection_reason, table_projection
from lakeward.merge import OP_COL, change_operation, merge_reason, plan_merge
from lakeward.pii_sampling import classify_frame
from lakeward.protection import hmac_key, hmac_sha256, masked, protections
from lakeward.locking import TableLock
from lakeward.partitioning import PartitionField, parse_partition_spec, spec_text
from lakeward.projection import conform, group_columns, quoted, resolve_names
from lakeward.quarantine import Quarantine
from lakeward.readers import CORRUPT_COL, FILE_COL, MTIME_COL, RAW_COL, REASON_COL, SIZE_COL, ReadGroup, read_groups
from lakeward.report import FileReport, RunReport
from lakeward.sources import SourceFile, sniff_all
from lakeward.spark_types import to_catalog, to_spark
from lakeward.storage import FileEntry, Storage, join, to_uri
from lakeward.tables import DataFile, delta
from lakeward.type_attribution import FileTypes, batch_type_conflicts
from lakeward.write_modes import WriteSettings, check_for_table, check_settings

PARTITION_SPEC_PARAMETER = "lakeward.partition_spec"
FIRST_SEEN_PARAMETER = "lakeward.first_seen"
SOURCE_PARAMETER = "lakeward.source"
PARSED_FROM_PARAMETER = "lakeward.parsed_from"
EVOLUTION_PARAMETER = "lakeward.evolution"
ROOT_PARAMETER = "lakeward.root"  # where the ledger, lock and staging live (a Parquet table's data may move)


@dataclass(frozen=True)
class IngestRequest:
    source: str
    table: str  # DB.TABLE
    format: TableFormat | None = None  # None: the existing table's format, else parquet
    partition_by: str | None = None
    lake: str = "lake"
    evolution: EvolutionMode | None = None  # None: the table's stored mode, else evolve
    hints: dict[str, C.DataType] = field(default_factory=dict)  # column -> type, overriding inference
    governance: GovernanceSpec | None = None  # None: the built-in default (lakeformation.spec.DEFAULT)
    govern: bool = True  # classify PII and apply Lake Formation tags
    write: WriteSettings = field(default_factory=WriteSettings)  # mode, merge keys, the caller's batch id
    projection: tuple[ProjectedColumn, ...] = ()  # Athena partition projection to declare (Parquet)


def parse_table_name(text: str) -> tuple[str, str]:
    parts = text.split(".")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise SpecError(f"--table {text!r}: expected DB.TABLE, for example sales.orders")
    return normalize_identifier(parts[0]), normalize_identifier(parts[1])


def new_batch_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


@dataclass
class _Existing:
    """The table before this batch: its schema as the data records it (Glue for Parquet, the log for
    Delta) and what Glue holds."""

    columns: tuple[Column, ...] | None
    partition_keys: tuple[Column, ...]
    partition_spec: str | None
    parameters: dict[str, str]
    glue: CatalogTable | None
    evolution: str | None = None
    names: dict[str, str] = field(default_factory=dict)  # raw name -> column, from the ledger
    retired: set[str] = field(default_factory=set)  # locations replaced by an overwrite or compaction
    moved: bool = False  # some batch wrote into a generation folder


@dataclass
class _Target:
    definition: TableDefinition
    plan: EvolutionPlan
    partitions: list[PartitionField]
    names: list[dict[str, str]]  # per read group: raw name -> column name
    content: list[dict[str, ContentType]]  # per read group: raw name -> the type its content has
    nested: NestedNames  # the batch's struct field names
    mode: EvolutionMode = "evolve"
    unmatched_hints: list[str] = field(default_factory=list)  # hinted columns absent from the batch
    write: WriteSettings = field(default_factory=WriteSettings)
    projection: list[ProjectedColumn] = field(default_factory=list)

    @property
    def spec(self) -> str:
        return spec_text(self.partitions)


@dataclass
class _Resolved:
    request: IngestRequest  # with the format settled
    storage: Storage
    glue: GlueCatalog
    current: CatalogTable | None
    database: str
    name: str
    table_uri: str
    source_uri: str


@dataclass
class Preview:
    """What an ingest of the source would do to the table, computed without writing anything."""

    table: str
    format: str
    exists: bool
    files: list[SourceFile]
    skipped: int
    mode: str | None = None
    plan: EvolutionPlan | None = None


def run_ingest(spark: SparkSession, aws: AwsContext, request: IngestRequest) -> RunReport:
    locked = _resolve(aws, request)
    with TableLock(locked.storage, locked.table_uri, f"lakeward ingest {locked.database}.{locked.name}"):
        # Again under the lock: the writer we waited for may have created or changed the table.
        r = _resolve(aws, request)
        if r.table_uri != locked.table_uri:
            raise ConcurrentWriteError(f"table {r.database}.{r.name} was created at {r.table_uri} by another writer "
                                       "while this ingest waited; run it again")
        return _ingest(spark, aws, r.request, r.storage, r.glue, r.current, r.database, r.name, r.table_uri,
                       r.source_uri)


def preview_ingest(spark: SparkSession, aws: AwsContext, request: IngestRequest) -> Preview:
    """The schema changes, conflicts and unknown columns an ingest would meet (a dry run: no lock, no
    recovery, no writes)."""
    r = _resolve(aws, request)
    records = Ledger(r.storage, r.table_uri).records()
    existing = _existing(aws, r.storage, r.request, r.current, r.table_uri, records)
    report = RunReport(f"{r.database}.{r.name}", r.request.format or "parquet", None, r.table_uri)
    files = _select_files(r.storage, r.source_uri, Ledger.ingested(records), report)
    preview = Preview(report.table, report.format, existing.columns is not None, files, len(report.files))
    groups = read_groups(spark, [f for f in files if not f.problem])
    if groups:
        target = _resolve_target(groups, existing, r.request, r.database, r.name, r.table_uri)
        preview.plan, preview.mode = target.plan, target.mode
    return preview


def _resolve(aws: AwsContext, request: IngestRequest) -> _Resolved:
    if request.format is not None and request.format not in TABLE_FORMATS:
        raise SpecError(f"--format {request.format!r}: expected one of {', '.join(TABLE_FORMATS)}")
    if request.evolution is not None and request.evolution not in EVOLUTION_MODES:
        raise SpecError(f"--evolution {request.evolution!r}: expected one of {', '.join(EVOLUTION_MODES)}")
    database, name = parse_table_name(request.table)
    storage = Storage.for_aws(aws)
    glue = GlueCatalog(aws.client("glue"))
    current = glue.load_table(database, name)
    if current is not None and current.foreign:
        raise SpecError(f"table {database}.{name} is a {current.foreign}; lakeward writes only to tables it "
                        "created. Choose another --table name")
    if current is not None and request.format not in (None, current.definition.format):
        raise SpecError(f"table {database}.{name} is a {current.definition.format} table; "
                        f"pass --format {current.definition.format}")
    request = replace(request, format=request.format or (current.definition.format if current else "parquet"))
    check_settings(request.write)
    table_uri = (table_root(current.definition) if current else join(to_uri(request.lake), database, name))
    source_uri = to_uri(request.source)
    if not storage.exists(source_uri):
        raise SourceError(f"source {request.source} does not exist")
    return _Resolved(request, storage, glue, current, database, name, table_uri, source_uri)


def table_root(table: TableDefinition) -> str:
    return table.parameters.get(ROOT_PARAMETER) or table.location


def _select_files(storage: Storage, source_uri: str, ingested: dict, report: RunReport) -> list[SourceFile]:
    """The source's files the ledger does not hold yet (the others are reported as skipped), sniffed."""
    fresh: list[FileEntry] = []
    for entry in storage.list_files(source_uri, skip_hidden=not _is_file(storage, source_uri)):
        seen = ingested.get(entry.uri)
        if seen and seen.size == entry.size and seen.mtime_ns // 1000 == entry.mtime_ns // 1000:
            report.files.append(FileReport(entry.uri, None, "skipped", reason=f"already ingested in batch {seen.batch_id}"))
        else:
            fresh.append(entry)
    return sniff_all(storage, fresh)


def _existing(aws: AwsContext, storage: Storage, request: IngestRequest, current: CatalogTable | None,
              table_uri: str, records: list[dict[str, Any]]) -> _Existing:
    existing = _existing_schema(aws, storage, request, current, table_uri, records)
    existing.names = Ledger.names(records)
    existing.retired = Ledger.retired(records)
    existing.moved = Ledger.moved(records)
    if existing.columns is not None and request.format == "delta":
        existing.columns = annotate(existing.columns, [existing.names], {})
        existing.partition_keys = annotate(existing.partition_keys, [existing.names], {})
    return existing


def _existing_schema(aws: AwsContext, storage: Storage, request: IngestRequest, current: CatalogTable | None,
                     table_uri: str, records: list[dict[str, Any]]) -> _Existing:
    glue_def = current.definition if current else None
    has_log = storage.exists(join(table_uri, "_delta_log"))
    if request.format == "parquet":
        if has_log:
            raise SpecError(f"a Delta table exists at {table_uri}; pass --format delta")
        return _Existing(glue_def.columns if glue_def else None, glue_def.partition_keys if glue_def else (),
                         glue_def.parameters.get(PARTITION_SPEC_PARAMETER) if glue_def else None,
                         dict(glue_def.parameters) if glue_def else {}, current,
                         glue_def.parameters.get(EVOLUTION_PARAMETER) if glue_def else None)
    log = delta.log_schema(table_uri, aws.storage_options()) if has_log else None
    parameters = dict(glue_def.parameters) if glue_def else {}
    if log is None:
        return _Existing(None, (), None, parameters, current)
    if glue_def is not None:  # the log has the schema; Glue has what lakeward recorded about each column
        log = delta.annotated(log, (*glue_def.columns, *glue_def.partition_keys))
    spec = (Ledger.latest(records, "partition_spec") or parameters.get(PARTITION_SPEC_PARAMETER)
            or ",".join(k.name for k in log.partition_keys))
    mode = Ledger.latest(records, "evolution") or parameters.get(EVOLUTION_PARAMETER)
    return _Existing(log.columns, log.partition_keys, spec, parameters, current, mode)


def _ingest(spark: SparkSession, aws: AwsContext, request: IngestRequest, storage: Storage, glue: GlueCatalog,
            current: CatalogTable | None, database: str, name: str, table_uri: str, source_uri: str) -> RunReport:
    started = time.monotonic()
    report = RunReport(f"{database}.{name}", request.format, None, table_uri)
    ledger = Ledger(storage, table_uri)
    ctx = CommitContext(aws, storage, glue, ledger)
    records = ledger.records()
    report.recovered_batches = recover(ctx, records, table_uri)
    if report.recovered_batches:
        records = ledger.records()
    existing = _existing(aws, storage, request, current, table_uri, records)
    report.mode = request.write.mode
    done = _committed_before(aws, request, records, table_uri)
    if done:
        report.already_committed = done
        report.duration_s = time.monotonic() - started
        return report

    ingested = Ledger.ingested(records)
    files = _select_files(storage, source_uri, ingested, report)
    to_read = [f for f in files if not f.problem]
    unreadable = [f for f in files if f.problem]
    if not files:
        _repair_catalog(glue, request, existing, database, name, table_uri)
        report.duration_s = time.monotonic() - started
        return report

    batch_id = report.batch_id = request.write.batch_id or new_batch_id()
    quarantine = Quarantine(storage, join(to_uri(request.lake), "_quarantine", database, name), batch_id)
    if request.write.batch_id:  # neither committed nor pending: what its folders hold is a dead attempt's
        storage.delete_dir(staging_uri(table_uri, batch_id))
        storage.delete_dir(quarantine.location)
    batch = {"batch_id": batch_id, "quarantine": quarantine.location, "seq": next_seq(records),
             "mode": request.write.mode, "caller_batch_id": request.write.batch_id, "table": [database, name],
             "sources": [{"uri": f.uri, "size": f.entry.size, "mtime_ns": f.entry.mtime_ns} for f in unreadable]}
    for f in unreadable:
        quarantine.add_file(f)
        report.files.append(FileReport(f.uri, f.format, "quarantined", 1, 0, 1, f.problem))
        report.quarantine_location = quarantine.location

    clock = report.timings
    clock["select_files_s"] = time.monotonic() - started
    mark = time.monotonic()
    groups = read_groups(spark, to_read)
    clock["read_and_infer_s"], mark = time.monotonic() - mark, time.monotonic()
    counts: list[dict[str, Any]] = []
    written: list[DataFile] = []
    touched: set[str] | None = None
    target = None
    if groups:
        target = _resolve_target(groups, existing, request, database, name, table_uri)
        batch["partition_spec"] = target.spec
        batch["evolution"] = target.mode
        batch["names"] = {raw: column for mapping in target.names for raw, column in mapping.items()}
        report.unmatched_hints = target.unmatched_hints
        report.file_type_conflicts = batch_type_conflicts(
            [FileTypes(f.uri, f.kinds, mapping) for g, mapping in zip(groups, target.names) for f in g.files],
            {c.name: C.to_hive(c.type) for c in (*target.definition.columns, *target.definition.partition_keys)})
        clock["plan_s"], mark = time.monotonic() - mark, time.monotonic()
        rows = _project(groups, target)
        if request.govern and target.mode != "freeze":  # from a sample, before the write it may protect
            report.pii = _classify(rows.where(F.col(REASON_COL).isNull()), target, existing.columns is None,
                                   request.governance or DEFAULT_GOVERNANCE)
            clock["classify_s"], mark = time.monotonic() - mark, time.monotonic()
        watch = _new_columns(target)
        protect = _protection(aws, request, target, report) if request.govern else {}
        staging = staging_uri(table_uri, batch_id)
        output, touched = _write_batch(spark, aws, rows, target, staging, storage, batch_id, watch, protect,
                                       sum(f.entry.size for f in to_read))
        report.merge = dict(output.actions)
        clock["write_s"], mark = time.monotonic() - mark, time.monotonic()
        counts = output.counts
        report.type_conflicts = conflict_evidence(target, counts)
        report.pending_columns = _set_pending(target, watch, counts)
        account(report, to_read, counts, changed={f.uri for f in to_read if f.uri in ingested})
        batch["sources"] += read_sources(to_read, counts)
        if output.quarantine:
            quarantine.adopt(storage, staging, output.quarantine)
            report.quarantine_location = quarantine.location
        written = [DataFile(f["relative"], f["partition_values"], f["size"], f["rows"], f["stats"])
                   for f in output.files]
        if not (written or touched):
            storage.delete_dir(staging)
    else:
        batch["sources"] += [{"uri": f.uri, "size": f.entry.size, "mtime_ns": f.entry.mtime_ns} for f in to_read]
        report.files.extend(FileReport(f.uri, f.format, "ingested") for f in to_read)
    quarantine.finish()

    if target is None or not (written or touched):  # nothing for the table: it stays exactly as it was
        ledger.commit(ledger.begin(outputs=[], **batch))
        _repair_catalog(glue, request, existing, database, name, table_uri)
    else:
        report.table_created = existing.columns is None
        if request.govern:  # before a new table exists: it inherits the database's safe default tags
            protect_database(aws, request.governance, database)
        report.schema_changes = [] if report.table_created else [c.describe() for c in target.plan.changes]
        if request.format == "parquet":
            outcome = commit_parquet(ctx, target.definition, existing.glue, written, batch, table_uri,
                                     existing.retired)
        else:
            changed = {c.column for c in target.plan.changes}
            evolved = [c for c in target.definition.columns if c.name in changed] if existing.columns else None
            outcome = commit_delta(ctx, target.definition, existing.glue, written, batch, evolved, touched)
            report.delta_version = outcome.version
        report.replaced, report.files_removed = outcome.replaced, outcome.files_removed
        report.partitions = partition_report(counts, written, target.partitions)
        if request.govern and "classify_s" in clock:
            report.tagged_columns = tag_columns(aws, request.governance, target.definition)
        clock["commit_s"] = time.monotonic() - mark
    report.duration_s = time.monotonic() - started
    return report


def _committed_before(aws: AwsContext, request: IngestRequest, records: list[dict[str, Any]],
                      table_uri: str) -> str | None:
    """Why a caller's batch id needs no run: the ledger (or the Delta log) has it committed."""
    batch_id = request.write.batch_id
    if batch_id is None:
        return None
    for record in records:
        if record["batch_id"] == batch_id and record["status"] == "committed":
            return f"batch {batch_id} was committed before; nothing to do"
    if request.format == "delta" and delta.caller_batch_committed(table_uri, aws.storage_options(), batch_id):
        return f"batch {batch_id} is in the Delta log already; nothing to do"
    return None


def _is_file(storage: Storage, uri: str) -> bool:
    return storage.info(uri).type == pafs.FileType.File


def _repair_catalog(glue: GlueCatalog, request: IngestRequest, existing: _Existing, database: str, name: str,
                    table_uri: str) -> None:
    """A Delta table's Glue entry follows its log even when an earlier run failed between the two."""
    if request.format != "delta" or existing.columns is None:
        return
    parameters = {**existing.parameters, PARTITION_SPEC_PARAMETER: existing.partition_spec or "",
                  EVOLUTION_PARAMETER: existing.evolution or "evolve"}
    table = TableDefinition(database, name, "delta", table_uri, existing.columns, existing.partition_keys, parameters)
    sync_catalog(glue, table, existing.glue)


def _resolve_target(groups: list[ReadGroup], existing: _Existing, request: IngestRequest, database: str,
                    name: str, table_uri: str) -> _Target:
    spec = request.partition_by
    if existing.columns is not None:
        stored = existing.partition_spec or ""
        if spec is None:
            spec = stored
        elif spec_text(parse_partition_spec(spec)) != spec_text(parse_partition_spec(stored)):
            raise SpecError(f"table {database}.{name} is partitioned by {stored or 'nothing'!r}; "
                            f"--partition-by {spec!r} would change it (not supported)")
    partitions = parse_partition_spec(spec)
    derived = {p.name for p in partitions if p.transform != "identity"}

    known = {**existing.names, **{raw: c.name for c in (*(existing.columns or ()), *existing.partition_keys)
                                  for raw in recorded_raw_names(c.parameters)}}
    names = []
    for g in groups:  # one mapping for the whole batch: each group sees what the groups before it mapped
        names.append(resolve_names(g.df, g.data_columns, derived, known))
        known = {**names[-1], **known}
    table_types = {c.name: c.type for c in (*(existing.columns or ()), *existing.partition_keys)}
    hints = request.hints
    nested = NestedNames({path: names for c in (existing.columns or ())
                          for path, names in recorded_nested_names(c.parameters).items()})
    # A column keeps the type the table has (a string column stays one); a hinted column keeps its content
    # format only when the hint agrees (epoch milliseconds under a timestamp hint).
    typed = [{raw: t for raw, t in infer_content_types(g.df, g.data_columns).items()
              if table_types.get(mapping[raw], t.type) == t.type and hints.get(mapping[raw], t.type) == t.type}
             for g, mapping in zip(groups, names)]
    batch: dict[str, C.DataType] = {}
    for group, mapping, content in zip(groups, names, typed):
        clash = derived & {normalize_identifier(f.name) for f in group.data_columns}
        if clash:
            raise SpecError(f"--partition-by {spec!r}: the partition column {sorted(clash)[0]!r} has the name of a "
                            "data column; name the derived column differently (for example ts_day=day(ts))")
        for column in group_columns(group.data_columns, mapping, {raw: t.type for raw, t in content.items()},
                                    nested, table_types):
            batch[column.name] = C.unify(batch[column.name], column.type) if column.name in batch else column.type
    promote = "parquet" if request.format == "parquet" else "none"
    unmatched: list[str] = []
    for column_name, hint in hints.items():
        if column_name not in batch:
            unmatched.append(column_name)
            continue
        old = table_types.get(column_name)
        if old is not None and C.widen(old, hint, promote) is None:
            raise SpecError(f"hint {column_name}: {C.to_hive(hint)} conflicts with column {column_name} of table "
                            f"{database}.{name}, which is {C.to_hive(old)}; a {request.format} table cannot change "
                            "it that way. Change the hint or remove it")
        batch[column_name] = hint
    known = {**{c.name: c.type for c in (existing.columns or ())}, **{k.name: k.type for k in existing.partition_keys},
             **batch}
    keys: list[Column] = []
    for p in partitions:
        stored_key = next((k for k in existing.partition_keys if k.name == p.name), None)
        if stored_key is not None:
            keys.append(stored_key)
            continue
        if p.source not in known:
            raise SpecError(f"--partition-by {p}: column {p.source!r} is not in the data; columns are "
                            f"{', '.join(sorted(known)) or 'none'}")
        if p.transform != "identity" and known[p.source] not in (C.DATE, C.TIMESTAMP, C.STRING):
            raise SpecError(f"--partition-by {p}: column {p.source!r} is {C.to_hive(known[p.source])}; a "
                            f"{p.transform} transform needs a date, timestamp or ISO-8601 string column")
        keys.append(Column(p.name, p.result_type(known[p.source])))
    check_for_table(request.write, f"{database}.{name}", request.format or "parquet", bool(partitions), set(known))
    identity = {p.name for p in partitions if p.transform == "identity"}
    change = request.write.change_column  # describes the change, not the row: not a column of the table
    incoming = [Column(n, t) for n, t in batch.items() if n not in identity and not (n == change and n not in table_types)]
    mode: EvolutionMode = request.evolution or existing.evolution or "evolve"  # type: ignore[assignment]
    if mode == "freeze" and existing.columns is None:
        raise SpecError(f"--evolution freeze: table {database}.{name} does not exist yet, so there is no contract "
                        "to hold the data to; create it with a first ingest in evolve or rescue mode")
    plan = plan_evolution(existing.columns, incoming, promote=promote, mode=mode)
    parameters = {**existing.parameters, PARTITION_SPEC_PARAMETER: spec_text(partitions), EVOLUTION_PARAMETER: mode,
                  ROOT_PARAMETER: table_uri}
    projection = table_projection(request, existing.parameters, keys, f"{database}.{name}", table_uri, parameters,
                                  existing.moved or bool(existing.retired))
    origin = {SOURCE_PARAMETER: to_uri(request.source), FIRST_SEEN_PARAMETER: datetime.now(timezone.utc).isoformat(
        timespec="seconds")}
    final = {c.name: c.type for c in plan.columns}
    raw_types = [{f.name: f.dataType for f in g.data_columns} for g in groups]
    parsed = {mapping[raw]: f"{C.to_hive(to_catalog(raw_type[raw]))} ({t.format})"
              for mapping, content, raw_type in zip(names, typed, raw_types)
              for raw, t in content.items() if final.get(mapping[raw]) == t.type}
    if mode == "freeze":  # the catalog is a contract: not even annotations change (the ledger keeps names)
        definition = TableDefinition(database, name, request.format, table_uri, plan.columns, tuple(keys),
                                     {**existing.parameters, EVOLUTION_PARAMETER: mode, ROOT_PARAMETER: table_uri})
        return _Target(definition, plan, partitions, names, typed, nested, mode, unmatched, request.write, projection)
    columns = annotate(plan.columns, names, origin, parsed, nested)
    plan.columns = columns
    definition = TableDefinition(database, name, request.format, table_uri, columns,
                                 annotate(tuple(keys), names, origin, parsed), parameters)
    return _Target(definition, plan, partitions, names, typed, nested, mode, unmatched, request.write, projection)


def annotate(columns: tuple[Column, ...], names: list[dict[str, str]], origin: dict[str, str],
             parsed: dict[str, str] | None = None, nested: NestedNames | None = None) -> tuple[Column, ...]:
    """Record in each column's Parameters the raw names it is fed from, and those of its nested fields
    that differ from their field names (so later batches map them the same way), once where and when it
    was first seen, and for a column typed from its content the format it was parsed from; the comment
    names the first raw name."""
    raws: dict[str, set[str]] = defaultdict(set)
    for mapping in names:
        for raw, column in mapping.items():
            raws[column].add(raw)
    result = []
    for column in columns:
        parameters = dict(column.parameters)
        recorded = recorded_raw_names(parameters)
        new = sorted(raws.get(column.name, set()) - set(recorded))
        if FIRST_SEEN_PARAMETER not in parameters:
            parameters.update(origin)
            if parsed and column.name in parsed:
                parameters[PARSED_FROM_PARAMETER] = parsed[column.name]
        if new:
            parameters[RAW_NAMES_PARAMETER] = json.dumps(recorded + new, ensure_ascii=False)
        fresh = nested.new_records(column.name) if nested else {}
        if fresh:
            merged = recorded_nested_names(parameters)
            for path, mapping in fresh.items():
                merged[path] = {**mapping, **merged.get(path, {})}
            parameters[NESTED_RAW_NAMES_PARAMETER] = json.dumps(merged, ensure_ascii=False, sort_keys=True)
        all_raw = recorded + new
        comment = column.comment
        if comment is None and all_raw and all_raw[0] != column.name:
            comment = f"raw name: {all_raw[0]}"[:255]
        result.append(replace(column, comment=comment, parameters=parameters))
    return tuple(result)


def _project(groups: list[ReadGroup], target: _Target) -> DataFrame:
    """One DataFrame of every row of the batch in the table's shape, with a reason for each bad row."""
    columns = list(target.definition.columns)
    identity_keys = [k for k in target.definition.partition_keys
                     if any(p.name == k.name and p.transform == "identity" for p in target.partitions)]
    frames = []
    for group, mapping, content in zip(groups, target.names, target.content):
        sources: dict[str, list] = defaultdict(list)
        for f in group.data_columns:
            sources[mapping[f.name]].append(f)
        values, problems, rescued = {}, [], []
        known = {c.name for c in (*columns, *identity_keys)}
        for column_name in target.plan.unknown:
            for source in sources.get(column_name, []):
                if target.mode == "rescue":
                    rescued.append((source.name, quoted(source.name).isNotNull()))
                else:
                    problems.append(F.when(quoted(source.name).isNotNull(), F.lit(
                        f"column {column_name} (from {source.name!r}) is not in the table, whose schema is "
                        f"frozen")))
        for column in (*columns, *identity_keys):
            if not sources.get(column.name):
                values[column.name] = F.lit(None).cast(to_spark(column.type))
                continue
            converted = []
            for source in sources[column.name]:
                value, lossy = _convert(source, column, content.get(source.name), target.nested)
                if lossy is not None and target.mode == "rescue":
                    value = F.when(lossy, F.lit(None)).otherwise(value)
                    rescued.append((source.name, lossy))
                elif lossy is not None:
                    problems.append(F.when(lossy, F.concat(
                        F.lit(f"column {column.name}: value '"), _shown(source), F.lit(
                            f"' of {source.name!r} ({source.dataType.simpleString()}) does not fit the table "
                            f"type {C.to_hive(column.type)}"))))
                converted.append(value)
            values[column.name] = converted[0] if len(converted) == 1 else F.coalesce(*converted)
            if len(converted) > 1:  # names mapped to one column earlier, now both set in one record
                raws = [quoted(f.name) for f in sources[column.name]]
                several = sum((r.isNotNull().cast("int") for r in raws), F.lit(0)) > 1
                if target.mode == "rescue":
                    rescued.extend((f.name, several) for f in sources[column.name][1:])
                else:
                    problems.append(F.when(several, F.lit(
                        f"column {column.name}: fields {', '.join(repr(f.name) for f in sources[column.name])} "
                        "are all set in this record; they map to one column")))
        if RESCUED_COLUMN in known:
            values[RESCUED_COLUMN] = _rescued(rescued)
        keys = {}
        for p in target.partitions:
            key_type = to_spark(target.definition.column(p.name).type)
            value = p.expression(values[p.source]).cast(key_type)
            keys[p.name] = value
            if p.transform != "identity":
                problems.append(F.when(values[p.source].isNotNull() & value.isNull(), F.lit(
                    f"partition {p}: cannot derive a {p.transform} from column {p.source}")))
        kind = group.files[0].format
        malformed = F.lit(f"malformed {'CSV' if kind == 'csv' else 'JSON'} record (Spark could not parse it)")
        reason = F.when(F.col(CORRUPT_COL).isNotNull(), malformed)
        if problems:
            reason = reason.otherwise(F.nullif(F.concat_ws("; ", *problems), F.lit("")))
        raw = F.col(CORRUPT_COL)
        if group.data_columns:
            raw = F.coalesce(raw, F.to_json(F.struct(*[quoted(f.name) for f in group.data_columns])))
        frames.append(group.df.select(
            *[values[c.name].alias(c.name) for c in columns],
            *[keys[p.name].alias(p.name) for p in target.partitions],
            F.col(FILE_COL), reason.alias(REASON_COL), F.when(reason.isNotNull(), raw).alias(RAW_COL),
            F.col(SIZE_COL), F.col(MTIME_COL),
            *([change_operation(target.write, sources.get(target.write.change_column or "", [])).alias(OP_COL)]
              if target.write.mode == "merge" else [])))
    rows = reduce(DataFrame.unionByName, frames)
    extra = [r for r in (merge_reason(target.write) if target.write.mode == "merge" else None,
                         projection_reason(target.projection)) if r is not None]
    if extra:  # reasons about the projected row as a whole; the record is kept as JSON
        problem = F.coalesce(F.col(REASON_COL), *extra)
        rows = rows.withColumns({REASON_COL: problem, RAW_COL: F.when(problem.isNotNull(), F.coalesce(
            F.col(RAW_COL), F.to_json(F.struct(*[quoted(c.name) for c in (*columns, *target.partitions)]))))})
    return rows


def _shown(source: Any, limit: int = 80) -> Any:
    """A raw value as text for a quarantine reason, cut to ``limit`` characters."""
    raw = quoted(source.name)
    text = F.to_json(raw) if isinstance(source.dataType, (T.StructType, T.ArrayType, T.MapType)) else raw.cast("string")
    return F.when(F.length(text) > limit, F.concat(F.substring(text, 1, limit - 3), F.lit("..."))).otherwise(text)


def _convert(source: Any, column: Column, content: ContentType | None, nested: NestedNames) -> tuple[Any, Any]:
    """A raw top-level field converted to its column's type, and when a value did not survive, the condition.
    Integers go into a timestamp column only as the epoch unit its content (or its recorded format) shows."""
    unit = epoch_unit(content.format if content else column.parameters.get(PARSED_FROM_PARAMETER))
    if unit and column.type == C.TIMESTAMP and isinstance(source.dataType, INTEGRAL_TYPES):
        return from_epoch(quoted(source.name), unit)
    return conform(quoted(source.name), source.dataType, column.type, nested, column.name)


def _rescued(entries: list) -> Any:
    """The _rescued_data JSON: the raw values that could not go into their columns, by raw name."""
    if not entries:
        return F.lit(None).cast("string")
    document = F.to_json(F.struct(*[F.when(condition, quoted(raw)).alias(raw) for raw, condition in entries]))
    return F.nullif(document, F.lit("{}"))


def _classify(good: DataFrame, target: _Target, new_table: bool, governance: GovernanceSpec) -> dict[str, str]:
    """Classify the new and changed columns (every column of a new table) from a sample of the batch's
    good rows, and record what is PII in their Glue Parameters before the commit: path -> entity."""
    changed = {c.column for c in target.plan.changes if c.kind in ("add_column", "add_nested_fields")}
    columns = [c.name for c in (*target.definition.columns, *target.definition.partition_keys)
               if new_table or c.name in changed or CLASSIFIED_PARAMETER not in c.parameters]
    columns = [c for c in columns if c != RESCUED_COLUMN]
    if not columns:
        return {}
    detections, seen = classify_frame(good, columns)
    target.definition = record_classification(target.definition, detections, seen, governance, set(columns))
    target.plan.columns = target.definition.columns
    return {d.column: d.entity for d in detections}


def _new_columns(target: _Target) -> list[str]:
    sources = {p.source for p in target.partitions}
    return [c.column for c in target.plan.changes if c.kind == "add_column" and c.column not in sources
            and c.column != RESCUED_COLUMN]


def _set_pending(target: _Target, watch: list[str], counts: list[dict[str, Any]]) -> list[str]:
    """Drop from the plan the new columns that are NULL in every row of the batch: their type would be a
    guess. They stay pending until a batch brings values (their values are all NULL, so nothing is lost)."""
    pending = [c for i, c in enumerate(watch) if not sum(r[f"nonnull_{i}"] for r in counts)]
    if pending:
        target.plan.columns = tuple(c for c in target.plan.columns if c.name not in pending)
        target.plan.changes = [c for c in target.plan.changes if c.column not in pending]
        target.definition = replace(target.definition, columns=target.plan.columns)
    return pending


def _protection(aws: AwsContext, request: IngestRequest, target: _Target, report: RunReport) -> dict[str, Any]:
    """Column -> the expression that hashes or masks it, per the governance spec's protect policy."""
    spec = request.governance or DEFAULT_GOVERNANCE
    actions = protections(target.definition, spec)
    report.protected = actions
    if not actions:
        return {}
    key = hmac_key(spec.hmac_key, aws) if "hash" in actions.values() else b""  # type: ignore[arg-type]
    return {c: (lambda v: hmac_sha256(v, key)) if a == "hash" else masked for c, a in actions.items()
            if a in ("hash", "mask")}


def _write_batch(spark: SparkSession, aws: AwsContext, rows: DataFrame, target: _Target, staging: str,
                 storage: Storage, batch_id: str, watch: list[str], protect: dict[str, Any],
                 input_bytes: int) -> tuple[BatchOutput, set[str] | None]:
    """The batch's rows in the table's shape (PII protected), then the bookkeeping the writer needs; a
    merge adds the rows it carries over from the files it rewrites. Returns those files' log paths."""
    merging = target.write.mode == "merge"
    plan = WritePlan(staging, batch_id, tuple(p.name for p in target.partitions), tuple(watch),
                     tuple(c.column for c in target.plan.conflicts), s3_options=storage.s3_options,
                     write_rows=bool(target.definition.columns or target.partitions), actions=merging)
    touched = None
    if merging:
        merge = plan_merge(spark, rows, target.definition, target.write, aws.storage_options())
        rows, touched = merge.frame, merge.touched
    def protected(name: str) -> Any:
        value = protect[name](quoted(name))
        if merging:  # carried rows come from the table's files, where they are protected already
            value = F.when(F.col(ACTION_COL) == "carried", quoted(name)).otherwise(value)
        return value.alias(name)

    frame = rows.select(
        *[protected(c.name) if c.name in protect else quoted(c.name) for c in target.definition.columns],
        *[partition_string(F.col(p.name)).alias(f"{PART_PREFIX}{i}") for i, p in enumerate(target.partitions)],
        *[F.col(c) for c in plan.bookkeeping if not c.startswith(PART_PREFIX)])
    return write_batch(frame, plan, unpartitioned_file_count(input_bytes, plan.target_bytes)), touched



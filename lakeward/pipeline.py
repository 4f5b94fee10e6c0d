"""Batch ingestion as clear steps: resolve the table, pick the files, read, project onto the evolved
schema, write files, commit (Parquet: publish and register partitions; Delta: delta-rs transaction),
register in the catalog, commit the ledger, and report.
"""
from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import reduce
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from catalog import types as C
from catalog.evolution import EvolutionPlan, plan_evolution
from catalog.glue import GlueCatalog
from catalog.names import normalize_identifier
from catalog.schema import Column, Partition, TableDefinition, TableFormat, TABLE_FORMATS
from lakeward.arrow_types import arrow_schema
from lakeward.aws import AwsContext
from lakeward.errors import SourceError, SpecError
from lakeward.ledger import Ledger
from lakeward.partitioning import HIVE_NULL, PartitionField, parse_partition_spec, spec_text
from lakeward.projection import batch_columns, conform
from lakeward.quarantine import Quarantine
from lakeward.readers import CORRUPT_COL, FILE_COL, ReadGroup, read_groups, spark_file_uri, spark_path
from lakeward.report import FileReport, PartitionReport, RunReport
from lakeward.sources import SourceFile, discover
from lakeward.spark_types import to_spark
from lakeward.storage import Storage, join, to_uri
from lakeward.tables import DataFile, delta, publish, staged_files

PARTITION_SPEC_PARAMETER = "lakeward.partition_spec"
REASON_COL, RAW_COL = "_lw_reason", "_lw_raw"
MAX_RECORDS_PER_FILE = 5_000_000


@dataclass(frozen=True)
class IngestRequest:
    source: str
    table: str  # DB.TABLE
    format: TableFormat = "parquet"
    partition_by: str | None = None
    lake: str = "lake"


def parse_table_name(text: str) -> tuple[str, str]:
    parts = text.split(".")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise SpecError(f"--table {text!r}: expected DB.TABLE, for example sales.orders")
    return normalize_identifier(parts[0]), normalize_identifier(parts[1])


def new_batch_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


@dataclass
class _Target:
    """The table as it will be after this batch."""

    definition: TableDefinition
    plan: EvolutionPlan
    partitions: list[PartitionField]
    version_id: str | None
    exists: bool


def run_ingest(spark: SparkSession, aws: AwsContext, request: IngestRequest) -> RunReport:
    started = time.monotonic()
    if request.format not in TABLE_FORMATS:
        raise SpecError(f"--format {request.format!r}: expected one of {', '.join(TABLE_FORMATS)}")
    database, name = parse_table_name(request.table)
    storage = Storage.for_aws(aws)
    glue = GlueCatalog(aws.client("glue"))
    existing = glue.load_table(database, name)
    if existing and existing.definition.format != request.format:
        raise SpecError(f"table {database}.{name} is a {existing.definition.format} table; "
                        f"pass --format {existing.definition.format}")
    lake_uri = to_uri(request.lake)
    table_uri = existing.definition.location if existing else join(lake_uri, database, name)
    report = RunReport(f"{database}.{name}", request.format, None, table_uri)

    source_uri = to_uri(request.source)
    if not storage.exists(source_uri):
        raise SourceError(f"source {request.source} does not exist")
    ledger = Ledger(storage, table_uri)
    records = ledger.records()
    report.recovered_batches = _recover(storage, aws, ledger, records, table_uri, request.format)
    if report.recovered_batches:
        records = ledger.records()
    ingested = Ledger.ingested(records)

    to_read: list[SourceFile] = []
    unreadable: list[SourceFile] = []
    for f in discover(storage, source_uri):
        seen = ingested.get(f.uri)
        if seen and (seen.size, seen.mtime_ns) == (f.entry.size, f.entry.mtime_ns):
            report.files.append(FileReport(f.uri, f.format, "skipped", reason=f"already ingested in batch {seen.batch_id}"))
        elif f.problem:
            unreadable.append(f)
        else:
            to_read.append(f)
    if not to_read and not unreadable:
        report.duration_s = time.monotonic() - started
        return report

    batch_id = report.batch_id = new_batch_id()
    quarantine = Quarantine(storage, join(lake_uri, "_quarantine", database, name), batch_id)
    for f in unreadable:
        quarantine.add_file(f)
        report.files.append(FileReport(f.uri, f.format, "quarantined", 1, 0, 1, f.problem))
    if unreadable:
        report.quarantine_location = quarantine.location

    groups = read_groups(spark, to_read)
    sources = [{"uri": f.uri, "size": f.entry.size, "mtime_ns": f.entry.mtime_ns} for f in (*to_read, *unreadable)]
    if not groups:  # only empty or unreadable files: nothing for the table, but the ledger remembers them
        quarantine.finish()
        ledger.commit(ledger.begin(batch_id, sources, []))
        report.duration_s = time.monotonic() - started
        return report
    target = _resolve_target(groups, existing, request, database, name, table_uri)
    report.type_conflicts = [f"{c.column}: table {c.table_type}, batch {c.batch_type} (rows that do not cast "
                             "are quarantined)" for c in target.plan.conflicts]

    rows = _project(groups, target)
    rows = rows.persist()
    try:
        counts = _counts(rows, target.partitions)
        _account(report, to_read, counts, changed={f.uri for f in to_read if f.uri in ingested})
        if any(not row["ok"] for row in counts):
            quarantine.write_rows(rows.where(F.col(REASON_COL).isNotNull()))
            report.quarantine_location = quarantine.location
        staging_uri = join(table_uri, "_lakeward", "staging", batch_id)
        files = _write_files(rows, target, staging_uri, storage) if any(row["ok"] for row in counts) else []
    finally:
        rows.unpersist()
    quarantine.finish()

    if not files:  # every record was quarantined: the table is left exactly as it was
        ledger.commit(ledger.begin(batch_id, sources, []))
        report.duration_s = time.monotonic() - started
        return report
    report.schema_changes = [c.describe() for c in target.plan.changes] if target.exists else []
    report.table_created = not target.exists
    if request.format == "parquet":
        _commit_parquet(storage, glue, ledger, target, files, staging_uri, batch_id, sources)
    else:
        report.delta_version = _commit_delta(storage, aws, glue, ledger, target, files, staging_uri, batch_id, sources)
    report.partitions = _partition_report(counts, files, target.partitions)
    report.duration_s = time.monotonic() - started
    return report


def _recover(storage: Storage, aws: AwsContext, ledger: Ledger, records: list[dict[str, Any]], table_uri: str,
             table_format: str) -> list[str]:
    """Finish or roll back batches whose writer died; returns what was done, for the report."""
    done = []
    for record in Ledger.abandoned(records):
        batch_id = record["batch_id"]
        if table_format == "delta" and delta.is_committed(table_uri, aws.storage_options(), batch_id):
            ledger.commit(record)
            done.append(f"batch {batch_id}: found in the Delta log, ledger completed")
            continue
        storage.delete_many([join(table_uri, rel) for rel in record.get("outputs", [])])
        storage.delete_dir(join(table_uri, "_lakeward", "staging", batch_id))
        ledger.remove(batch_id)
        done.append(f"batch {batch_id}: interrupted before commit, rolled back ({len(record.get('outputs', []))} files)")
    return done


def _resolve_target(groups: list[ReadGroup], existing: Any, request: IngestRequest, database: str, name: str,
                    table_uri: str) -> _Target:
    table = existing.definition if existing else None
    spec = request.partition_by
    if table is not None:
        stored = table.parameters.get(PARTITION_SPEC_PARAMETER, "")
        if spec is None:
            spec = stored
        elif spec_text(parse_partition_spec(spec)) != stored:
            raise SpecError(f"table {database}.{name} is partitioned by {stored or 'nothing'!r}; "
                            f"--partition-by {spec!r} would change it (not supported)")
    partitions = parse_partition_spec(spec)
    derived = {p.name for p in partitions if p.transform != "identity"}

    batch: dict[str, C.DataType] = {}
    for group in groups:
        _, columns = batch_columns(group.data_columns, derived)
        for column in columns:
            batch[column.name] = C.unify(batch[column.name], column.type) if column.name in batch else column.type
    known = {**{c.name: c.type for c in (table.columns if table else ())}, **batch}
    keys: list[Column] = []
    for p in partitions:
        if p.transform == "identity" and table is not None and table.column(p.name) is not None:
            keys.append(table.column(p.name))
            continue
        if p.source not in known:
            raise SpecError(f"--partition-by {p}: column {p.source!r} is not in the data; columns are "
                            f"{', '.join(sorted(known)) or 'none'}")
        keys.append(Column(p.name, p.result_type(known[p.source])))
    identity = {p.name for p in partitions if p.transform == "identity"}
    incoming = [Column(n, t) for n, t in batch.items() if n not in identity]
    plan = plan_evolution(table.columns if table else None, incoming, promote=request.format == "parquet")
    parameters = dict(table.parameters) if table else {}
    parameters[PARTITION_SPEC_PARAMETER] = spec_text(partitions)
    definition = TableDefinition(database, name, request.format, table_uri, plan.columns, tuple(keys), parameters)
    return _Target(definition, plan, partitions, existing.version_id if existing else None, existing is not None)


def _project(groups: list[ReadGroup], target: _Target) -> DataFrame:
    """One DataFrame of every row of the batch in the table's shape, with a reason for each bad row."""
    columns = list(target.definition.columns)
    identity_keys = [k for k in target.definition.partition_keys
                     if any(p.name == k.name and p.transform == "identity" for p in target.partitions)]
    derived = {p.name for p in target.partitions if p.transform != "identity"}
    frames = []
    for group in groups:
        names, _ = batch_columns(group.data_columns, derived)
        by_name = {names[f.name]: f for f in group.data_columns}
        values, problems = {}, []
        for column in (*columns, *identity_keys):
            source = by_name.get(column.name)
            if source is None:
                values[column.name] = F.lit(None).cast(to_spark(column.type))
                continue
            converted, lossy = conform(F.col(f"`{source.name}`"), source.dataType, column.type)
            values[column.name] = converted
            if lossy is not None:
                problems.append(F.when(lossy, F.lit(
                    f"column {column.name}: value {source.name!r} of type {source.dataType.simpleString()} "
                    f"does not fit the table type {C.to_hive(column.type)}")))
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
        raw_struct = F.struct(*[F.col(f"`{f.name}`") for f in group.data_columns]) if group.data_columns else F.lit(None)
        raw = F.coalesce(F.col(CORRUPT_COL), F.to_json(raw_struct) if group.data_columns else F.lit(None))
        frame = group.df.select(
            *[values[c.name].alias(c.name) for c in columns],
            *[keys[p.name].alias(p.name) for p in target.partitions],
            F.col(FILE_COL), reason.alias(REASON_COL), F.when(reason.isNotNull(), raw).alias(RAW_COL))
        frames.append(frame)
    return reduce(DataFrame.unionByName, frames)


def _counts(rows: DataFrame, partitions: list[PartitionField]) -> list[dict[str, Any]]:
    """Row counts per source file, partition and outcome: aggregates only, never table data."""
    keys = [F.col(p.name).cast("string").alias(p.name) for p in partitions]
    grouped = rows.groupBy(F.col(FILE_COL), *keys, F.col(REASON_COL).isNull().alias("ok")).count()
    return [r.asDict() for r in grouped.collect()]


def _account(report: RunReport, files: list[SourceFile], counts: list[dict[str, Any]], changed: set[str]) -> None:
    per_file: dict[str, FileReport] = {}
    for f in files:
        status = "changed" if f.uri in changed else "ingested"
        per_file[f.uri] = FileReport(f.uri, f.format, status,
                                     reason="re-ingested: size or modification time changed" if status == "changed" else None)
    for row in counts:
        entry = per_file[spark_file_uri(row[FILE_COL])]
        entry.rows_read += row["count"]
        if row["ok"]:
            entry.rows_written += row["count"]
        else:
            entry.rows_quarantined += row["count"]
    report.files.extend(per_file.values())


def _write_files(rows: DataFrame, target: _Target, staging_uri: str, storage: Storage) -> list[DataFile]:
    names = [p.name for p in target.partitions]
    good = rows.where(F.col(REASON_COL).isNull()).select(
        *[c.name for c in target.definition.columns], *names)
    if names:
        good = good.repartition(*names)
    writer = good.write.mode("overwrite").option("maxRecordsPerFile", MAX_RECORDS_PER_FILE)
    if names:
        writer = writer.partitionBy(*names)
    writer.parquet(spark_path(staging_uri))
    return staged_files(storage, staging_uri, names)


def _partition_locations(table_uri: str, files: list[DataFile], keys: tuple[Column, ...]) -> list[Partition]:
    seen: dict[str, Partition] = {}
    for f in files:
        folder = f.relative.rsplit("/", 1)[0]
        if folder not in seen:
            values = tuple(HIVE_NULL if f.partition_values[k.name] is None else f.partition_values[k.name] for k in keys)
            seen[folder] = Partition(values, join(table_uri, folder))
    return list(seen.values())


def _register(glue: GlueCatalog, target: _Target) -> None:
    glue.ensure_database(target.definition.database)
    if not target.exists:
        glue.create_table(target.definition)
    elif target.plan.changed:
        glue.update_table(target.definition, target.version_id)


def _commit_parquet(storage: Storage, glue: GlueCatalog, ledger: Ledger, target: _Target, files: list[DataFile],
                    staging_uri: str, batch_id: str, sources: list[dict[str, Any]]) -> None:
    # The schema is widened before any file that needs it becomes visible.
    _register(glue, target)
    record = ledger.begin(batch_id, sources, [f.relative for f in files])
    publish(storage, staging_uri, target.definition.location, files)
    if target.definition.partition_keys:
        glue.add_partitions(target.definition,
                            _partition_locations(target.definition.location, files, target.definition.partition_keys))
    ledger.commit(record)
    storage.delete_dir(staging_uri)


def _commit_delta(storage: Storage, aws: AwsContext, glue: GlueCatalog, ledger: Ledger, target: _Target,
                  files: list[DataFile], staging_uri: str, batch_id: str, sources: list[dict[str, Any]]) -> int:
    table = target.definition
    publish(storage, staging_uri, table.location, files)  # invisible to Delta readers until committed
    record = ledger.begin(batch_id, sources, [f.relative for f in files])
    actions = delta.add_actions(storage, table.location, files)
    schema = arrow_schema([*table.columns, *table.partition_keys])
    evolved = [c for c in table.columns if c.name in {change.column for change in target.plan.changes}]
    version = delta.commit(table.location, aws.storage_options(), schema, [k.name for k in table.partition_keys],
                           actions, batch_id, table.name, arrow_schema(evolved) if target.exists else None)
    _register(glue, target)  # after the commit, so Glue always matches the Delta log
    ledger.commit(record)
    storage.delete_dir(staging_uri)
    return version


def _partition_report(counts: list[dict[str, Any]], files: list[DataFile],
                      partitions: list[PartitionField]) -> list[PartitionReport]:
    written: dict[tuple, int] = defaultdict(int)
    for row in counts:
        if row["ok"]:
            written[tuple(row[p.name] for p in partitions)] += row["count"]
    file_count: dict[tuple, int] = defaultdict(int)
    for f in files:
        file_count[tuple(f.partition_values[p.name] for p in partitions)] += 1
    return [PartitionReport({p.name: v for p, v in zip(partitions, key)}, n, file_count.get(key, 0))
            for key, n in sorted(written.items(), key=lambda kv: tuple(str(v) for v in kv[0]))]

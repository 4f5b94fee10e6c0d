"""The ingestion core: one table, locked and loaded once, making read batches part of it one after
another. Every front door ends here: files (lakeward.ingest.files), a caller's DataFrame
(lakeward.ingest.frames) and stream micro-batches.

A batch goes through clear steps: plan the schema against the table, shape its rows, classify new
columns, write files and quarantine in one pass, commit (Parquet partitions or a Delta transaction,
with the ledger record, the caller's batch id and the source positions), register in Glue, tag in Lake
Formation, report. The table's state (Glue entry, Delta snapshot, ledger) is kept between batches and
refreshed only from what a commit changed, so a batch whose schema the table already holds costs one
Spark job and a handful of small requests.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from catalog import types as C
from catalog.glue import GlueCatalog
from catalog.schema import CatalogTable
from lakeward.engines.spark_columns import quoted
from lakeward.errors import ConcurrentWriteError, SpecError
from lakeward.governance.batch import classify_batch, protection, to_classify
from lakeward.governance.policy import protect_database, tag_columns
from lakeward.ingest.accounting import (
    account,
    conflict_evidence,
    partition_report,
    read_sources,
)
from lakeward.ingest.batch import RawBatch
from lakeward.ingest.planning import PartSchema, Target, plan_batch
from lakeward.ingest.quarantine import Quarantine
from lakeward.ingest.report import FileReport, RunReport
from lakeward.ingest.request import (
    IngestRequest,
    new_batch_id,
    parse_table_name,
    table_root,
)
from lakeward.ingest.sampling import SparkSampler
from lakeward.ingest.shape import shape
from lakeward.ingest.type_attribution import FileTypes, batch_type_conflicts
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings
from lakeward.runtime.storage import Storage, join, to_uri
from lakeward.tables import delta
from lakeward.tables.catalog_sync import sync_catalog
from lakeward.tables.commit import CommitContext, Outcome, staging_uri
from lakeward.tables.delta_commit import DeltaChange, commit_delta
from lakeward.tables.ledger import (
    BatchRecord,
    Ledger,
    LedgerState,
    SourceEntry,
    StreamPositions,
)
from lakeward.tables.lock import TableLock
from lakeward.tables.merge import plan_merge
from lakeward.tables.parquet import commit_parquet
from lakeward.tables.recovery import recover
from lakeward.tables.state import TableState, catalog_view, delta_state, parquet_state
from lakeward.tables.writer import (
    ACTION_COL,
    PART_PREFIX,
    BatchOutput,
    WritePlan,
    file_count,
    partition_string,
    write_batch,
)


@dataclass
class _Resolved:
    request: IngestRequest  # with the format settled
    current: CatalogTable | None
    table_uri: str


class TableWriter:
    """``with TableWriter(spark, aws, request, settings) as writer: writer.ingest(batch)``.

    Entering resolves the table in Glue, takes its writer lock (lakeward.tables.lock), recovers batches
    whose writer died, and loads the table's state; leaving releases the lock. ``dry_run`` takes no lock
    and changes nothing (schema previews).
    """

    def __init__(self, spark: SparkSession, aws: AwsContext, request: IngestRequest, settings: Settings,
                 purpose: str = "ingest", dry_run: bool = False):
        request.check()
        self.spark, self.aws, self.settings, self.dry_run = spark, aws, settings, dry_run
        self.database, self.name = parse_table_name(request.table, request.spell("table"))
        self.storage = Storage.for_aws(aws)
        self.glue = GlueCatalog(aws.client("glue"))
        self.request = request
        self.purpose = purpose
        self.lock: TableLock | None = None
        self.recovered: list[str] = []
        self._governed = False

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"

    # opening -------------------------------------------------------------------------------------
    def _resolve(self) -> _Resolved:
        request = self.request
        current = self.glue.load_table(self.database, self.name)
        if current is not None and current.foreign:
            raise SpecError(f"table {self.qualified_name} is a {current.foreign}; lakeward writes only to tables it "
                            f"created. Choose another {request.spell('table')}")
        if current is not None and request.format not in (None, current.definition.format):
            raise SpecError(f"table {self.qualified_name} is a {current.definition.format} table; "
                            f"{request.spell('format')} {request.format} cannot change it; pass "
                            f"{request.spell('format')} {current.definition.format} or leave it out")
        request = replace(request, format=request.format or (current.definition.format if current else "parquet"))
        table_uri = table_root(current.definition) if current else join(to_uri(request.lake), self.database, self.name)
        return _Resolved(request, current, table_uri)

    def __enter__(self) -> "TableWriter":
        first = self._resolve()
        if not self.dry_run:
            self.lock = TableLock(self.storage, first.table_uri, f"lakeward {self.purpose} {self.qualified_name}",
                                  self.settings.lock_lease_s, self.settings.lock_wait_s).__enter__()
        try:
            self._open(first)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _open(self, first: _Resolved) -> None:
        # Again under the lock: the writer we waited for may have created or changed the table.
        resolved = self._resolve() if self.lock is not None else first
        if resolved.table_uri != first.table_uri:
            raise ConcurrentWriteError(f"table {self.qualified_name} was created at {resolved.table_uri} by another "
                                       "writer while this one waited; run it again")
        self.request, self.current, self.table_uri = resolved.request, resolved.current, resolved.table_uri
        if self.request.format == "parquet" and self.storage.exists(join(self.table_uri, "_delta_log")):
            raise SpecError(f"a Delta table exists at {self.table_uri}; {self.request.spell('format')} delta")
        self.ledger = Ledger(self.storage, self.table_uri, self.settings.ledger_tail)
        self.ctx = CommitContext(self.aws, self.storage, self.glue, self.ledger, self.ledger.load(), self.lock)
        if not self.dry_run:
            self.recovered = recover(self.ctx, self.table_uri)
        self.snapshot: DeltaTable | None = None
        if self.request.format == "delta":
            self.snapshot = delta.open_table(self.table_uri, self.aws.storage_options())
        self.state = self._state()

    def _state(self) -> TableState:
        if self.request.format == "delta":
            return delta_state(self.current, self.snapshot, self.ctx.state)
        return parquet_state(self.current, self.ctx.state)

    def __exit__(self, *exc: object) -> None:
        if self.lock is not None:
            self.lock.__exit__(*exc)
            self.lock = None

    # what the table holds --------------------------------------------------------------------------
    @property
    def ledger_state(self) -> LedgerState:
        return self.ctx.state

    def committed(self, caller_batch_id: str) -> str | None:
        """Why a caller's batch id needs no run: the ledger (or the Delta log) has it committed."""
        if caller_batch_id in self.ctx.state.caller_batches:
            return f"batch {caller_batch_id} was committed before; nothing to do"
        if self.snapshot is not None and delta.caller_batch_committed(self.snapshot, caller_batch_id):
            return f"batch {caller_batch_id} is in the Delta log already; nothing to do"
        return None

    def repair_catalog(self) -> None:
        """A Delta table's Glue entry follows its log even when an earlier run failed between the two."""
        if self.request.format == "delta" and self.state.exists and not self.dry_run:
            if sync_catalog(self.glue, catalog_view(self.state, self.database, self.name, self.table_uri),
                            self.current):
                self.current = self.glue.load_table(self.database, self.name)

    # planning ------------------------------------------------------------------------------------
    def plan(self, batch: RawBatch) -> Target:
        sampler = SparkSampler(batch.parts, self.settings.type_sample_rows)
        return plan_batch([PartSchema(p.data_columns) for p in batch.parts], self.state, self.request, sampler,
                          self.database, self.name, self.table_uri, batch.origin)

    # one batch -----------------------------------------------------------------------------------
    def ingest(self, batch: RawBatch, batch_id: str | None = None, positions: StreamPositions | None = None,
               report: RunReport | None = None) -> RunReport:
        """Make ``batch`` part of the table. ``batch_id`` is the caller's idempotency key (a batch id the
        table committed before is a no-op); ``positions`` are committed with the batch, atomically."""
        if self.dry_run:
            raise AssertionError("a dry-run TableWriter does not ingest")
        started = time.monotonic()
        report = report or RunReport(self.qualified_name, str(self.request.format), None, self.table_uri)
        report.format, report.mode = str(self.request.format), self.request.write.mode
        report.recovered_batches, self.recovered = self.recovered, []
        caller = batch_id or self.request.write.batch_id
        done = self.committed(caller) if caller else None
        if done:
            report.already_committed = done
            report.duration_s += time.monotonic() - started
            return report
        if batch.empty:
            self.repair_catalog()
            report.duration_s += time.monotonic() - started
            return report
        step = _Steps(self, batch, report, caller or new_batch_id(), caller, positions)
        step.run()
        report.duration_s += time.monotonic() - started
        return report

    def _refresh(self, outcome: Outcome, created: bool) -> None:
        """The table's state after a commit: Glue read again only when it changed."""
        if outcome.catalog_changed or created:
            self.current = self.glue.load_table(self.database, self.name)
        if self.request.format == "delta" and self.snapshot is None:
            self.snapshot = delta.open_table(self.table_uri, self.aws.storage_options())
        self.state = self._state()


class _Steps:
    """The steps of one batch, sharing what they found."""

    def __init__(self, writer: TableWriter, batch: RawBatch, report: RunReport, batch_id: str,
                 caller: str | None, positions: StreamPositions | None):
        self.w, self.batch, self.report = writer, batch, report
        self.clock = report.timings
        self.mark = time.monotonic()
        request = writer.request
        report.batch_id = batch_id
        self.quarantine = Quarantine(writer.storage, join(to_uri(request.lake), "_quarantine", writer.database,
                                                          writer.name), batch_id)
        if caller:  # neither committed nor pending: what its folders hold is a dead attempt's
            writer.storage.delete_dir(staging_uri(writer.table_uri, batch_id))
            writer.storage.delete_dir(self.quarantine.location)
        self.record = BatchRecord(batch_id, writer.ctx.state.next_seq, mode=request.write.mode,
                                  table=(writer.database, writer.name), quarantine=self.quarantine.location,
                                  caller_batch_id=caller, positions=positions,
                                  sources=[SourceEntry(f.uri, f.entry.size, f.entry.mtime_ns, f.entry.etag)
                                           for f in batch.unreadable])

    def _tick(self, name: str) -> None:
        now = time.monotonic()
        self.clock[name] = self.clock.get(name, 0.0) + now - self.mark
        self.mark = now

    def run(self) -> None:
        w, batch, report = self.w, self.batch, self.report
        for f in batch.unreadable:
            self.quarantine.add_file(f)
            report.files.append(FileReport(f.uri, f.format, "quarantined", 1, 0, 1, f.problem))
            report.quarantine_location = self.quarantine.location
        files = [f for part in batch.parts for f in part.files]
        target: Target | None = None
        output: BatchOutput | None = None
        touched: set[str] | None = None
        if batch.parts:
            target = w.plan(batch)
            self.record.partition_spec, self.record.evolution = target.spec, target.mode
            self.record.names = {raw: column for mapping in target.names for raw, column in mapping.items()}
            report.unmatched_hints = target.unmatched_hints
            report.file_type_conflicts = batch_type_conflicts(
                [FileTypes(f.uri, f.kinds, mapping) for part, mapping in zip(batch.parts, target.names)
                 for f in part.files],
                {c.name: C.to_hive(c.type) for c in (*target.definition.columns, *target.definition.partition_keys)})
            self._tick("plan_s")
            rows = shape(batch.parts, target)
            columns = to_classify(target, not w.state.exists)
            if w.request.govern and target.mode != "freeze" and columns:
                report.pii = classify_batch(rows, target, columns, w.request.governance, w.settings)
                self._tick("classify_s")
            output, touched = self._write(rows, target)
            self._tick("write_s")
            report.type_conflicts = conflict_evidence(target, output.counts)
            report.pending_columns = [c for i, c in enumerate(target.new_columns())
                                      if not sum(row.nonnull[i] for row in output.counts)]
            target.drop_pending(report.pending_columns)
            account(report, files, output.counts, batch.changed)
            self.record.sources += read_sources(files, output.counts) if files else batch.sources
            if output.quarantine:
                self.quarantine.adopt(w.storage, staging_uri(w.table_uri, self.record.batch_id), output.quarantine)
                report.quarantine_location = self.quarantine.location
        else:
            self.record.sources += batch.sources
            report.files.extend(FileReport(f.uri, f.format, "ingested") for f in files)
        self.quarantine.finish()
        written = output.files if output else []
        if target is None or not (written or touched):  # nothing for the table: it stays exactly as it was
            if output is not None:
                w.storage.delete_dir(staging_uri(w.table_uri, self.record.batch_id))
            w.ctx.fence()
            w.ledger.commit(w.ledger.begin(self.record), w.ctx.state)
            w.repair_catalog()
            return
        self._commit(target, output, touched)  # type: ignore[arg-type]

    def _write(self, rows: DataFrame, target: Target) -> tuple[BatchOutput, set[str] | None]:
        """The rows (PII protected) and the bookkeeping the writer needs; a merge adds the rows it carries
        over from the files it rewrites and returns those files' log paths."""
        w = self.w
        report = self.report
        merging = target.write.mode == "merge"
        plan = WritePlan(staging_uri(w.table_uri, self.record.batch_id), self.record.batch_id,
                         tuple(p.name for p in target.partitions), w.settings.target_bytes,
                         tuple(target.new_columns()), tuple(c.column for c in target.checked),
                         s3_options=w.storage.s3_options,
                         write_rows=bool(target.definition.columns or target.partitions), actions=merging)
        protect: dict[str, Any] = {}
        if w.request.govern:
            report.protected, protect = protection(w.aws, w.request.governance, target.definition)
        touched = None
        if merging:
            merge = plan_merge(w.spark, rows, target.definition, target.write, w.aws.storage_options())
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
        output = write_batch(frame, plan, self._tasks(plan, merging))
        report.merge = dict(output.actions)
        return output, touched

    def _tasks(self, plan: WritePlan, merging: bool) -> int | None:
        """How many tasks write the batch without a shuffle, or None to shuffle it by partition value: a
        batch smaller than one file is written by one task; an unpartitioned one by as many tasks as it
        needs files."""
        size = self.batch.input_bytes
        if not plan.partition_names:
            return file_count(size, plan.target_bytes) if size is not None else None
        if size is not None and size <= plan.target_bytes and not merging:
            return 1
        return None

    def _commit(self, target: Target, output: BatchOutput, touched: set[str] | None) -> None:
        w, report = self.w, self.report
        created = not w.state.exists
        report.table_created = created
        if w.request.govern and (created or report.pii) and not w._governed:
            # before a new table exists: it inherits the database's safe default tags
            protect_database(w.aws, w.request.governance, w.database)
            w._governed = True
        report.schema_changes = [] if created else [c.describe() for c in target.plan.changes]
        if w.request.format == "parquet":
            outcome = commit_parquet(w.ctx, target.definition, w.current, output.files, self.record, w.table_uri)
        else:
            changed = {c.column for c in target.plan.changes}
            evolved = tuple(c for c in target.definition.columns if c.name in changed) if w.state.exists else ()
            app = ((f"{delta.APP_ID}:consumer:{self.record.positions.consumer}", self.record.positions.batch),) \
                if self.record.positions else ()
            outcome = commit_delta(w.ctx, target.definition, w.current, output.files, self.record,
                                   DeltaChange(evolved, frozenset(touched) if touched is not None else None,
                                               app_transactions=app), w.snapshot)
            report.delta_version = outcome.version
        report.replaced, report.files_removed = outcome.replaced, outcome.files_removed
        report.partitions = partition_report(output.counts, output.files, target.partitions)
        if w.request.govern and "classify_s" in self.clock:
            report.tagged_columns = tag_columns(w.aws, w.request.governance, target.definition)
        w._refresh(outcome, created)
        self._tick("commit_s")

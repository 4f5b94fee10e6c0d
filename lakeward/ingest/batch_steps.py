"""The steps of one batch, in order: plan the schema against the table, shape the rows, classify new
columns, write files and quarantine in one pass, account for every row, commit (Parquet partitions or
a Delta transaction, with the ledger record, the caller's batch id and the source positions), tag in
Lake Formation, report. The table's session (lakeward.ingest.table_writer) holds what they share."""
from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from catalog import types as C
from lakeward.engines.spark_columns import quoted
from lakeward.governance.batch import classify_batch, protected_columns, protection, to_classify
from lakeward.governance.policy import protect_database, tag_columns
from lakeward.ingest.accounting import (
    account,
    conflict_evidence,
    partition_report,
    read_sources,
)
from lakeward.ingest.batch import RawBatch
from lakeward.ingest.planning import Target
from lakeward.ingest.quarantine import Quarantine
from lakeward.ingest.report import FileReport, RunReport
from lakeward.ingest.shape import shape
from lakeward.ingest.type_attribution import FileTypes, batch_type_conflicts
from lakeward.ingest.widening import Carry, carried_rows, plan_carry, rewrite_stale
from lakeward.quality.in_batch import BatchQuality, check_batch
from lakeward.runtime.storage import join, to_uri
from lakeward.tables import delta
from lakeward.tables.commit import staging_uri
from lakeward.tables.delta_commit import DeltaChange, commit_delta
from lakeward.tables.ledger import BatchRecord, SourceEntry, StreamPositions
from lakeward.tables.merge import plan_merge
from lakeward.tables.parquet import commit_parquet
from lakeward.tables.state import catalog_view
from lakeward.tables.writer import (
    ACTION_COL,
    PART_PREFIX,
    BatchOutput,
    WritePlan,
    file_count,
    partition_string,
    write_batch,
)

if TYPE_CHECKING:
    from lakeward.ingest.table_writer import TableWriter


class BatchSteps:
    """The steps of one batch, sharing what they found."""

    def __init__(self, writer: "TableWriter", batch: RawBatch, report: RunReport, batch_id: str,
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
                                           for f in (*batch.unreadable, *batch.empty_files)])
        self.rewritten: frozenset[tuple[str, ...]] = frozenset()  # partitions an append rewrites whole
        self.cached: list[DataFrame] = []  # frames persisted for the batch, let go when it ends
        self.quality: BatchQuality | None = None  # the table's rules over the batch

    def _tick(self, name: str) -> None:
        now = time.monotonic()
        self.clock[name] = self.clock.get(name, 0.0) + now - self.mark
        self.mark = now

    def run(self) -> None:
        try:
            self._run()
        finally:
            for frame in self.cached:
                frame.unpersist()

    def _run(self) -> None:
        w, batch, report = self.w, self.batch, self.report
        for f in batch.unreadable:
            self.quarantine.add_file(f)
            report.files.append(FileReport(f.uri, f.format, "quarantined", 1, 0, 1, f.problem))
            report.quarantine_location = self.quarantine.location
        report.files.extend(FileReport(f.uri, "empty", "ingested", reason="empty file (0 bytes): no rows")
                            for f in batch.empty_files)
        files = [f for part in batch.parts for f in part.files]
        target: Target | None = None
        output: BatchOutput | None = None
        touched: set[str] | None = None
        if batch.parts:
            target, rows, carry = self._plan()
            self.record.partition_spec, self.record.evolution = target.spec, target.mode
            self.record.names = {raw: column for mapping in target.names for raw, column in mapping.items()}
            report.unmatched_hints = target.unmatched_hints
            report.file_type_conflicts = batch_type_conflicts(
                [FileTypes(f.uri, f.kinds, mapping) for part, mapping in zip(batch.parts, target.names)
                 for f in part.files],
                {c.name: C.to_hive(c.type) for c in (*target.definition.columns, *target.definition.partition_keys)})
            self._tick("plan_s")
            shaped = rows
            columns = to_classify(target, not w.state.exists)
            # a sample of the shaped rows; before the rules, which must know what is PII
            if w.request.govern and target.mode != "freeze" and columns:
                report.pii, report.pii_doubts = classify_batch(shaped, target, columns, w.request.governance,
                                                               w.settings)
                self._tick("classify_s")
            if w.request.quality is not None:  # between shaping and writing
                # observed during the write; a merge or a carrying widening reads its rows again: evaluated first
                observed = target.write.mode != "merge" and carry is None
                if not observed:
                    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)  # read and shaped once, for both passes
                    self.cached.append(rows)
                names = [c.name for c in (*target.definition.columns, *target.definition.partition_keys)]
                private = protected_columns(target.definition, w.request.governance) if w.request.govern else frozenset()
                self.quality = check_batch(w.spark, rows, w.request.quality, names, w.qualified_name, w.aws,
                                           self.record.batch_id, deferred=observed, private=private)
                rows = self.quality.rows  # type: ignore[assignment]
                if not self.quality.deferred:
                    report.quality = self.quality.outcomes()
                self._tick("quality_s")
            output, touched = self._write(rows, target, carry)
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

    def _plan(self) -> tuple[Target, DataFrame, Carry | None]:
        """The batch's target table, its shaped rows and, when it widens a type the table's files cannot
        follow, what it rewrites with it (lakeward.ingest.widening). Past the rewrite limit of
        ``widen: auto`` the batch is planned again as ``widen: quarantine``."""
        w, batch = self.w, self.batch
        target = w.plan(batch)
        rows = shape(batch.parts, target)
        if not target.plan.rewrites or not w.state.exists:
            return target, rows, None
        # a Delta table whose Glue entry is missing (a run died between commit and catalog) is read from its log
        old = w.current.definition if w.current is not None else catalog_view(w.state, w.database, w.name, w.table_uri)
        carry = plan_carry(w.aws, w.storage, old, target.definition, target.write.mode, target.plan.rewrites,
                           bool(target.projection), rows)
        limit = w.settings.widen_rewrite_bytes
        if carry is not None and (w.request.widen or "auto") == "auto" and carry.bytes > limit:
            changes = ", ".join(f"{r.column} {r.old_type} -> {r.new_type}" for r in target.plan.rewrites)
            self.report.widening.append(
                f"{changes}: not widened; it needs {len(carry.uris)} files ({carry.bytes / 2**20:.1f} MB) rewritten, "
                f"more than widen auto takes (LAKEWARD_WIDEN_REWRITE_MB={w.settings.widen_rewrite_mb:g}); values that "
                f"do not fit the table's type are quarantined. Run again with {w.request.spell('widen')} rewrite to "
                "rewrite them")
            target = w.plan(batch, replace(w.request, widen="quarantine"))
            return target, shape(batch.parts, target), None
        return target, rows, carry

    def _write(self, rows: DataFrame, target: Target, carry: Carry | None) -> tuple[BatchOutput, set[str] | None]:
        """The rows (PII protected) and the bookkeeping the writer needs; a merge adds the rows it carries
        over from the files it rewrites and returns those files' log paths, as a widening does with the
        files it rewrites (the batch then commits as the carry's mode)."""
        w = self.w
        report = self.report
        merging = target.write.mode == "merge"
        carrying = carry is not None and not merging
        plan = WritePlan(staging_uri(w.table_uri, self.record.batch_id), self.record.batch_id,
                         tuple(p.name for p in target.partitions), w.settings.target_bytes,
                         tuple(target.new_columns()), tuple(c.column for c in target.checked),
                         s3_options=w.storage.s3_options,
                         write_rows=bool(target.definition.columns or target.partitions),
                         actions=merging or carrying,
                         keys=self.quality.staged_keys if self.quality is not None else ())
        protect: dict[str, Any] = {}
        if w.request.govern:
            report.protected, protect = protection(w.aws, w.request.governance, target.definition)
        touched = None
        scanned: dict[str, int] = {}
        if merging:
            merge = plan_merge(w.spark, rows, target.definition, target.write, w.aws.storage_options(),
                               w.storage if carry is not None else None)
            rows, touched = merge.frame, merge.touched
            scanned = {"files_live": merge.files_live, "files_scanned": merge.files_scanned}
        elif carrying:
            rows = rows.withColumn(ACTION_COL, F.lit(None).cast("string"))

        def protected(name: str) -> Any:
            value = protect[name](quoted(name))
            if merging or carrying:  # carried rows come from the table's files, where they are protected already
                value = F.when(F.col(ACTION_COL) == "carried", quoted(name)).otherwise(value)
            return value.alias(name)

        tasks = None if carrying else self._tasks(plan, merging)
        if self.quality is not None and self.quality.deferred:  # the rules' aggregates, computed by the write itself
            if tasks is None and plan.partition_names:
                # shuffled by partition first, as the writer would, so the metrics are taken in the final stage:
                # a stage Spark re-runs (a lost executor) would count them twice
                rows = rows.repartition(*[partition_string(F.col(p.name)) for p in target.partitions])
                tasks = 0
            rows = self.quality.observe(rows)
        frame = rows.select(
            *[protected(c.name) if c.name in protect else quoted(c.name) for c in target.definition.columns],
            *[partition_string(F.col(p.name)).alias(f"{PART_PREFIX}{i}") for i, p in enumerate(target.partitions)],
            *[F.col(c) for c in plan.bookkeeping if not c.startswith(PART_PREFIX)])
        if carrying and carry.uris:  # type: ignore[union-attr]
            frame = frame.unionByName(carried_rows(w.spark, w.storage, target.definition, carry.uris))  # type: ignore[union-attr]
        output = write_batch(frame, plan, tasks)
        if self.quality is not None and self.quality.deferred:
            try:
                if self.quality.staged_keys:
                    self._tick("write_s")
                    try:
                        self.quality.count_staged_keys(w.spark, {name: [join(plan.staging_uri, f) for f in staged]
                                                                 for name, staged in output.keys.items()},
                                                       output.key_rows, w.storage)
                    finally:  # counted: the keys leave the lake at once, before the commit
                        w.storage.delete_dir(join(plan.staging_uri, "_dq_keys"))
                    self._tick("quality_keys_s")
                report.quality = self.quality.outcomes()
            except Exception:  # a fail rule (or metrics that never came): what the write staged goes, nothing is committed
                w.storage.delete_dir(plan.staging_uri)
                raise
        if carry is not None:
            self.record.mode = carry.mode
            report.widening.append(carry.describe(output.actions.get("carried", 0),
                                                  [r.column for r in target.plan.rewrites]))
        elif w.state.exists and target.write.mode == "append":
            self.rewritten, done = rewrite_stale(w.spark, w.glue, w.storage, target.definition, plan, output)
            report.widening += done
        report.merge = {**{k: v for k, v in output.actions.items() if merging}, **(scanned if merging else {})}
        report.null_tokens = dict(output.nulled)
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
        if w.request.govern and (created or report.pii or "classify_s" in self.clock) and not w.governed:
            # before a new table exists: it inherits the database's safe default tags; and before columns are
            # tagged (a table created without governance gets its tags from its first governed batch)
            protect_database(w.aws, w.request.governance, w.database)
            w.governed = True
        report.schema_changes = [] if created else [c.describe() for c in target.plan.changes]
        if w.request.format == "parquet":
            outcome = commit_parquet(w.ctx, target.definition, w.current, output.files, self.record, w.table_uri,
                                     self.rewritten)
        else:
            changed = {c.column for c in target.plan.changes}
            evolved = tuple(c for c in target.definition.columns if c.name in changed) if w.state.exists else ()
            app = ((f"{delta.APP_ID}:consumer:{self.record.positions.consumer}", self.record.positions.batch),) \
                if self.record.positions else ()
            retype = bool(target.plan.rewrites) and w.state.exists
            outcome = commit_delta(w.ctx, target.definition, w.current, output.files, self.record,
                                   DeltaChange(evolved, frozenset(touched) if touched is not None else None,
                                               app_transactions=app, retype=retype), w.snapshot)
            report.delta_version = outcome.version
        report.replaced, report.files_removed = outcome.replaced, outcome.files_removed
        report.partitions = partition_report(output.counts, output.files, target.partitions)
        if w.request.govern and "classify_s" in self.clock:
            report.tagged_columns = tag_columns(w.aws, w.request.governance, target.definition)
        w._refresh(outcome, created)
        self._tick("commit_s")

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

from deltalake import DeltaTable
from pyspark.sql import SparkSession

from catalog.glue import GlueCatalog
from catalog.schema import CatalogTable
from lakeward.errors import ConcurrentWriteError, SpecError
from lakeward.ingest.batch import RawBatch
from lakeward.ingest.content_types import NULL_TOKENS
from lakeward.ingest.batch_steps import BatchSteps
from lakeward.ingest.planning import PartSchema, Target, plan_batch
from lakeward.ingest.report import RunReport
from lakeward.ingest.request import (
    IngestRequest,
    new_batch_id,
    parse_table_name,
    table_root,
)
from lakeward.ingest.sampling import SparkSampler
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings
from lakeward.runtime.storage import Storage, join, to_uri
from lakeward.tables import delta
from lakeward.tables.catalog_sync import sync_catalog
from lakeward.tables.commit import CommitContext, Outcome
from lakeward.tables.ledger import (
    Ledger,
    LedgerState,
    StreamPositions,
)
from lakeward.tables.lock import TableLock
from lakeward.tables.recovery import recover
from lakeward.tables.state import TableState, catalog_view, delta_state, parquet_state


@dataclass
class _Resolved:
    request: IngestRequest  # with the format settled
    current: CatalogTable | None
    table_uri: str


class TableWriter:
    """``with TableWriter(spark, aws, request, settings) as writer: writer.ingest(batch)``.

    Entering resolves the table in Glue, takes its writer lock (lakeward.tables.lock), recovers batches
    whose writer died, and loads the table's state; leaving releases the lock. ``dry_run`` takes no lock
    and changes nothing (schema previews). Without ``spark`` it only opens the table, for a door that
    writes its files itself (lakeward.ingest.rows).
    """

    def __init__(self, spark: SparkSession | None, aws: AwsContext, request: IngestRequest, settings: Settings,
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
        self.governed = False

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
    def plan(self, batch: RawBatch, request: IngestRequest | None = None) -> Target:
        request = request or self.request
        sampler = SparkSampler(batch.parts, self.settings.type_sample_rows, request.null_values or NULL_TOKENS)
        parts = [PartSchema(p.data_columns, text=p.kind == "csv") for p in batch.parts]
        return plan_batch(parts, self.state, request, sampler, self.database, self.name,
                          self.table_uri, batch.origin)

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
        batch_id = caller or new_batch_id()
        if batch.rowless:
            if self.request.quality is not None and batch.taken:  # files that held no rows: RowCount > 0 fails
                self._check_empty(report, batch_id)  # a fail rule raises: the empty files stay untaken
            if batch.empty:
                self.repair_catalog()
                report.duration_s += time.monotonic() - started
                return report
        BatchSteps(self, batch, report, batch_id, caller, positions).run()
        report.duration_s += time.monotonic() - started
        return report

    def _check_empty(self, report: RunReport, batch_id: str) -> None:
        from lakeward.quality.in_batch import check_empty

        table = self.current.definition if self.current is not None else None
        columns = [c.name for c in (*table.columns, *table.partition_keys)] if table else []
        rules = self.request.quality if table else self.request.quality.dataset_level()  # type: ignore[union-attr]
        if rules is not None:  # a table that does not exist yet has no columns to judge
            report.quality = check_empty(self.spark, rules, columns, self.qualified_name, self.aws, batch_id)

    def _refresh(self, outcome: Outcome, created: bool) -> None:
        """The table's state after a commit: Glue read again only when it changed."""
        if outcome.catalog_changed or created:
            self.current = self.glue.load_table(self.database, self.name)
        if self.request.format == "delta" and self.snapshot is None:
            self.snapshot = delta.open_table(self.table_uri, self.aws.storage_options())
        self.state = self._state()

"""The files front door: select the source's new files, read them, and hand them to the core.

``run_ingest`` is "lock the table, pick the files the ledger does not hold, sniff and read them, then
``TableWriter.ingest``"; ``preview_ingest`` does the same reading and planning without a lock and writes
nothing (``lakeward schema diff``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import pyarrow.fs as pafs
from pyspark.sql import SparkSession

from catalog.evolution import EvolutionPlan
from lakeward.errors import SourceError
from lakeward.ingest.batch import RawBatch
from lakeward.ingest.readers import read_files
from lakeward.ingest.report import FileReport, RunReport
from lakeward.ingest.request import IngestRequest
from lakeward.ingest.sources import SourceFile, sniff_all
from lakeward.ingest.table_writer import TableWriter
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings
from lakeward.runtime.storage import FileEntry, Storage, to_uri
from lakeward.tables.ledger import LedgerState


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


def run_ingest(spark: SparkSession, aws: AwsContext, request: IngestRequest, settings: Settings) -> RunReport:
    source = _source(aws, request)
    with TableWriter(spark, aws, request, settings) as writer:
        started = time.monotonic()
        report = RunReport(writer.qualified_name, str(writer.request.format), None, writer.table_uri)
        caller = writer.request.write.batch_id
        if caller and writer.committed(caller):
            return writer.ingest(RawBatch([]), caller, report=report)
        batch = select_and_read(spark, writer.storage, source, writer.ledger_state, report)
        report.duration_s = time.monotonic() - started
        return writer.ingest(batch, report=report)


def preview_ingest(spark: SparkSession, aws: AwsContext, request: IngestRequest, settings: Settings) -> Preview:
    """The schema changes, conflicts and unknown columns an ingest would meet (a dry run: no lock, no
    recovery, no writes)."""
    source = _source(aws, request)
    with TableWriter(spark, aws, request, settings, dry_run=True) as writer:
        report = RunReport(writer.qualified_name, str(writer.request.format), None, writer.table_uri)
        batch = select_and_read(spark, writer.storage, source, writer.ledger_state, report)
        preview = Preview(report.table, report.format, writer.state.exists,
                          [*batch.unreadable, *(f for p in batch.parts for f in p.files)], len(report.files))
        if batch.parts:
            target = writer.plan(batch)
            preview.plan, preview.mode = target.plan, target.mode
        return preview


def _source(aws: AwsContext, request: IngestRequest) -> str:
    if not request.source:
        raise SourceError(f"{request.spell('source')}: no source given")
    uri = to_uri(request.source)
    if not Storage.for_aws(aws).exists(uri):
        raise SourceError(f"{request.spell('source')} {request.source} does not exist")
    return uri


def select_and_read(spark: SparkSession, storage: Storage, source_uri: str, ledger: LedgerState,
                    report: RunReport) -> RawBatch:
    """The source's files the ledger does not hold, read (the others reported as skipped)."""
    clock = report.timings
    mark = time.monotonic()
    files = select_files(storage, source_uri, ledger, report)
    clock["select_files_s"] = time.monotonic() - mark
    mark = time.monotonic()
    readable = [f for f in files if not f.problem]
    parts = read_files(spark, readable)
    clock["read_and_infer_s"] = time.monotonic() - mark
    changed = {f.uri for f in readable if f.uri in ledger.ingested}
    return RawBatch(parts, unreadable=[f for f in files if f.problem], changed=changed,
                    input_bytes=sum(f.entry.size for f in readable), origin=source_uri,
                    sources=[])


def select_files(storage: Storage, source_uri: str, ledger: LedgerState, report: RunReport) -> list[SourceFile]:
    """The source's files the ledger does not hold yet (the others are reported as skipped), sniffed."""
    fresh: list[FileEntry] = []
    single = storage.info(source_uri).type == pafs.FileType.File
    for entry in storage.list_files(source_uri, skip_hidden=not single):
        seen = ledger.ingested.get(entry.uri)
        if seen and seen.size == entry.size and (seen.mtime_ns or 0) // 1000 == entry.mtime_ns // 1000:
            report.files.append(FileReport(entry.uri, None, "skipped", reason=f"already ingested in batch {seen.batch_id}"))
        else:
            fresh.append(entry)
    return sniff_all(storage, fresh)

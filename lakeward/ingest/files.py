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
from lakeward.ingest.request import ChangedFiles, IngestRequest
from lakeward.ingest.sources import SourceFile, sniff_all
from lakeward.ingest.table_writer import TableWriter
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings
from lakeward.runtime.storage import FileEntry, Storage, to_uri
from lakeward.tables.ledger import LedgerEntry, LedgerState


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
    from lakeward.quality.results import recorded

    return recorded(spark, aws, settings, request, lambda: _run_ingest(spark, aws, request, settings, source))


def _run_ingest(spark: SparkSession, aws: AwsContext, request: IngestRequest, settings: Settings,
                source: str) -> RunReport:
    with TableWriter(spark, aws, request, settings) as writer:
        started = time.monotonic()
        report = RunReport(writer.qualified_name, str(writer.request.format), None, writer.table_uri)
        caller = writer.request.write.batch_id
        if caller and writer.committed(caller):
            return writer.ingest(RawBatch([]), caller, report=report)
        batch = select_and_read(spark, writer.storage, source, writer.ledger_state, report,
                                writer.request.changed_files or "hold")
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
                    report: RunReport, changed_files: ChangedFiles = "hold") -> RawBatch:
    """The source's files the ledger does not hold, read (the others reported as skipped)."""
    clock = report.timings
    mark = time.monotonic()
    files, changed = select_files(storage, source_uri, ledger, report, changed_files)
    clock["select_files_s"] = time.monotonic() - mark
    mark = time.monotonic()
    readable = [f for f in files if not f.problem]
    parts = read_files(spark, readable)
    clock["read_and_infer_s"] = time.monotonic() - mark
    return RawBatch(parts, unreadable=[f for f in files if f.problem], changed=changed,
                    empty_files=[f for f in readable if f.entry.size == 0],
                    input_bytes=sum(f.entry.size for f in readable), origin=source_uri,
                    sources=[], taken=len(files))


def select_files(storage: Storage, source_uri: str, ledger: LedgerState, report: RunReport,
                 changed_files: ChangedFiles = "hold") -> tuple[list[SourceFile], set[str]]:
    """The source's files the ledger does not hold yet, sniffed, and which of them are changed versions of
    files it holds. A file is the one already ingested when its size and time match, or its content
    identity does (S3's ETag, a local file's SHA-256): a re-copy, a replication or a ``touch`` adds
    nothing. A file whose content changed is held back (reported ``held``) unless ``changed_files`` is
    ``reingest``: its earlier version's rows are in the table, and taking it again would add them twice."""
    single = storage.info(source_uri).type == pafs.FileType.File
    candidates: list[FileEntry] = []
    for entry in storage.list_files(source_uri, skip_hidden=not single):
        seen = ledger.ingested.get(entry.uri)
        if seen and _same_stamp(seen, entry):
            report.files.append(FileReport(entry.uri, None, "skipped", reason=f"already ingested in batch {seen.batch_id}"))
        else:
            candidates.append(entry)
    fresh: list[FileEntry] = []
    changed: set[str] = set()
    for entry in storage.with_identity(candidates):  # hashed only when new or re-timed
        seen = ledger.ingested.get(entry.uri)
        if seen is None:
            fresh.append(entry)
        elif seen.etag is not None and seen.etag == entry.etag:
            report.files.append(FileReport(entry.uri, None, "skipped", reason=f"same content as ingested in batch "
                                           f"{seen.batch_id} (only its time changed)"))
        elif changed_files == "reingest":
            fresh.append(entry)
            changed.add(entry.uri)
        else:
            report.files.append(FileReport(entry.uri, None, "held", reason=_held_reason(seen, entry)))
    return sniff_all(storage, fresh), changed


def _same_stamp(seen: LedgerEntry, entry: FileEntry) -> bool:
    return seen.size == entry.size and (seen.mtime_ns or 0) // 1000 == entry.mtime_ns // 1000


def _held_reason(seen: LedgerEntry, entry: FileEntry) -> str:
    what = (f"its size changed from {seen.size:,} to {entry.size:,} bytes" if seen.size != entry.size
            else "its content changed" if seen.etag else "its time changed and batch "
            f"{seen.batch_id} recorded no content identity to compare")
    return (f"held back: ingested before in batch {seen.batch_id} and {what}; its earlier rows are in the table, "
            f"so taking it again would add them twice. Replace them with a merge on keys or an overwrite, or take "
            f"this version as well with changed_files: reingest")

"""The run report's accounting, from the counts the batch writer returns: rows per source and outcome,
the bytes Spark read, rows per partition, and the evidence of type conflicts."""
from __future__ import annotations

import re
from collections import defaultdict

from catalog.partition_spec import PartitionField
from lakeward.engines.bookkeeping import source_uri
from lakeward.ingest.planning import Target
from lakeward.ingest.report import FileReport, PartitionReport, RunReport
from lakeward.ingest.sources import SourceFile
from lakeward.tables import DataFile
from lakeward.tables.ledger import SourceEntry
from lakeward.tables.writer import CountRow

_EXAMPLE_VALUE = re.compile(r"value '(.*?)' of '")


def _masked(match: re.Match) -> str:
    """A value in the run report (console, logs): values longer than 8 characters, which may be personal
    data, keep their first 4 characters and their length; the quarantine keeps the whole record."""
    value = match.group(1)
    shown = value if len(value) <= 8 else f"{value[:4]}... ({len(value)} characters)"
    return f"value '{shown}' of '"


def conflict_evidence(target: Target, counts: list[CountRow]) -> list[str]:
    """Per column whose values may not fit the table: both types, the rows and files concerned and one
    example value with its file. Text converted into a typed column is listed only when a value failed."""
    evidence = []
    conflicts = {c.column for c in target.plan.conflicts}
    for i, c in enumerate(target.checked):
        text = f"{c.column}: table {c.table_type}, batch {c.batch_type}"
        hits = [row for row in counts if row.conflicts[i]]
        if c.column not in conflicts and not hits:
            continue
        if target.mode == "rescue":
            text += " (values that do not fit are kept in _rescued_data)"
        elif hits:
            files = sorted({source_uri(row.source) for row in hits})
            kind = "file(s)" if all(f.startswith(("file://", "s3://")) for f in files) else "source(s)"
            example = next(row for row in hits if row.examples[i])
            text += (f"; {sum(row.conflicts[i] for row in hits)} rows quarantined from {len(files)} {kind}, "
                     f"e.g. {source_uri(example.source).rsplit('/', 1)[-1]}: "
                     f"{_EXAMPLE_VALUE.sub(_masked, example.examples[i] or '', count=1)}")
        else:
            text += "; every value fits the table type"
        evidence.append(text)
    return evidence


def read_sources(files: list[SourceFile], counts: list[CountRow]) -> list[SourceEntry]:
    """Ledger entries with the size and time of the bytes Spark read (a file appended between the listing
    and the read is recorded as read, so the next run does not take it for changed)."""
    seen = {source_uri(row.source): row for row in counts}
    sources = []
    for f in files:
        row = seen.get(f.uri)
        if row is not None and row.size is not None and row.size != f.entry.size:
            sources.append(SourceEntry(f.uri, row.size, (row.mtime_us or 0) * 1000, None))
        else:
            sources.append(SourceEntry(f.uri, f.entry.size, f.entry.mtime_ns, f.entry.etag))
    return sources


def account(report: RunReport, files: list[SourceFile], counts: list[CountRow], changed: set[str]) -> None:
    """Rows read, written and quarantined per source: per file when files were read, per stream label
    (a topic's partition, a frame) otherwise."""
    per_source: dict[str, FileReport] = {}
    for f in files:
        status = "changed" if f.uri in changed else "ingested"
        per_source[f.uri] = FileReport(f.uri, f.format, status, reason="taken again (changed_files: reingest): its content changed and "
                                       "the rows of its earlier version stay in the table"
                                       if status == "changed" else None)
    for row in counts:
        uri = source_uri(row.source)
        entry = per_source.get(uri) or per_source.setdefault(uri, FileReport(uri, None, "ingested"))
        entry.rows_read += row.count
        if row.ok:
            entry.rows_written += row.count
        else:
            entry.rows_quarantined += row.count
    report.files.extend(per_source.values())


def partition_report(counts: list[CountRow], files: list[DataFile],
                     partitions: list[PartitionField]) -> list[PartitionReport]:
    written: dict[tuple, int] = defaultdict(int)
    for row in counts:
        if row.ok:
            written[tuple(row.partition[p.name] for p in partitions)] += row.count
    file_count: dict[tuple, int] = defaultdict(int)
    for f in files:
        file_count[tuple(f.partition_values[p.name] for p in partitions)] += 1
    return [PartitionReport({p.name: v for p, v in zip(partitions, key)}, n, file_count.get(key, 0))
            for key, n in sorted(written.items(), key=lambda kv: tuple(str(v) for v in kv[0]))]

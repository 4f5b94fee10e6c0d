"""The run report's accounting, from the counts the batch writer returns: rows per source file and
outcome, the bytes Spark read, rows per partition, and the evidence of type conflicts."""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from lakeward.partitioning import PartitionField
from lakeward.readers import FILE_COL, spark_file_uri
from lakeward.report import FileReport, PartitionReport, RunReport
from lakeward.sources import SourceFile
from lakeward.tables import DataFile


_EXAMPLE_VALUE = re.compile(r"value '(.*?)' of '")


def _masked(match: re.Match) -> str:
    """A value in the run report (console, logs): values longer than 8 characters, which may be personal
    data, keep their first 4 characters and their length; the quarantine keeps the whole record."""
    value = match.group(1)
    shown = value if len(value) <= 8 else f"{value[:4]}... ({len(value)} characters)"
    return f"value '{shown}' of '"


def conflict_evidence(target: Any, counts: list[dict[str, Any]]) -> list[str]:
    """Per column whose batch type the table cannot take: both types, the rows and files concerned and one
    example value with its file."""
    evidence = []
    for i, c in enumerate(target.plan.conflicts):
        text = f"{c.column}: table {c.table_type}, batch {c.batch_type}"
        hits = [row for row in counts if row.get(f"conflict_{i}")]
        if target.mode == "rescue":
            text += " (values that do not fit are kept in _rescued_data)"
        elif hits:
            files = sorted({spark_file_uri(row[FILE_COL]) for row in hits})
            example = next(row for row in hits if row[f"example_{i}"])
            text += (f"; {sum(row[f'conflict_{i}'] for row in hits)} rows quarantined from {len(files)} file(s), "
                     f"e.g. {spark_file_uri(example[FILE_COL]).rsplit('/', 1)[-1]}: "
                     f"{_EXAMPLE_VALUE.sub(_masked, example[f'example_{i}'], count=1)}")
        else:
            text += "; every value fits the table type"
        evidence.append(text)
    return evidence


def read_sources(files: list[SourceFile], counts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ledger entries with the size and time of the bytes Spark read (a file appended between the listing
    and the read is recorded as read, so the next run does not take it for changed)."""
    seen = {spark_file_uri(row[FILE_COL]): row for row in counts}
    sources = []
    for f in files:
        row = seen.get(f.uri)
        if row is not None and row["size"] is not None and row["size"] != f.entry.size:
            sources.append({"uri": f.uri, "size": row["size"], "mtime_ns": row["mtime_us"] * 1000})
        else:
            sources.append({"uri": f.uri, "size": f.entry.size, "mtime_ns": f.entry.mtime_ns})
    return sources


def account(report: RunReport, files: list[SourceFile], counts: list[dict[str, Any]], changed: set[str]) -> None:
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


def partition_report(counts: list[dict[str, Any]], files: list[DataFile],
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

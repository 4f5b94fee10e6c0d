"""The run report: what was read, written and quarantined, per file and per partition; printed with
rich and saved as JSON. Rows read always equal rows written plus rows quarantined."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from lakeward.quality.cloudwatch import rule_counts


@dataclass
class FileReport:
    path: str
    format: str | None
    status: str  # ingested | changed | skipped | held | quarantined
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    reason: str | None = None


@dataclass
class PartitionReport:
    values: dict[str, str | None]
    rows_written: int
    files: int = 0


@dataclass
class RunReport:
    table: str
    format: str
    batch_id: str | None
    location: str
    files: list[FileReport] = field(default_factory=list)
    partitions: list[PartitionReport] = field(default_factory=list)
    schema_changes: list[str] = field(default_factory=list)
    type_conflicts: list[str] = field(default_factory=list)
    # columns the batch's files disagree on: {"column", "type" (chosen), "files": {kind: [uri, ...]}}
    file_type_conflicts: list[dict[str, Any]] = field(default_factory=list)
    pending_columns: list[str] = field(default_factory=list)
    unmatched_hints: list[str] = field(default_factory=list)  # hinted columns no file of the batch has
    pii: dict[str, str] = field(default_factory=dict)  # column path -> PII entity found in this batch
    pii_doubts: dict[str, str] = field(default_factory=dict)  # doubtful column -> evidence (closed until reviewed)
    tagged_columns: int = 0  # columns given Lake Formation tags after classification
    protected: dict[str, str] = field(default_factory=dict)  # column -> hash|mask applied in the written files
    quarantine_location: str | None = None
    recovered_batches: list[str] = field(default_factory=list)
    mode: str = "append"
    already_committed: str | None = None  # the caller's batch id was committed before: nothing was done
    replaced: list[str] = field(default_factory=list)  # partitions (or the table) this batch replaced
    files_removed: int = 0  # files the batch took out of the table (overwrite, merge)
    merge: dict[str, int] = field(default_factory=dict)  # inserted / updated / deleted keys, rows carried over
    null_tokens: dict[str, int] = field(default_factory=dict)  # column -> missing-value tokens (NA, ...) written as NULL
    widening: list[str] = field(default_factory=list)  # files rewritten to widen a type, or why not
    quality: list[dict[str, Any]] = field(default_factory=list)  # per DQDL rule: outcome, metrics, reason, action
    quality_published: str | None = None  # where the rule counts went (CloudWatch), when the rules ask for it
    table_created: bool = False
    delta_version: int | None = None
    duration_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_written(self) -> int:
        return sum(f.rows_written for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def quality_metrics(self) -> dict[str, int]:
        """The batch's rule counts under the CloudWatch names Glue Data Quality publishes (namespace
        "Glue Data Quality"), ready for PutMetricData."""
        return rule_counts(self.quality) if self.quality else {}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        totals = {"rows_read": self.rows_read, "rows_written": self.rows_written,
                  "rows_quarantined": self.rows_quarantined}
        return {**totals, **data, **({"quality_metrics": self.quality_metrics} if self.quality else {})}

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, default=str))

    def print(self, console: Console) -> None:
        console.rule(f"[bold]lakeward ingest[/] {self.table} ({self.format})")
        files = Table("file", "format", "status", "read", "written", "quarantined", "reason", box=None)
        for f in self.files:
            files.add_row(f.path.rsplit("/", 1)[-1], f.format or "?", f.status, str(f.rows_read),
                          str(f.rows_written), str(f.rows_quarantined), f.reason or "")
        console.print(files)
        if self.partitions:
            parts = Table("partition", "rows written", "files", box=None)
            for p in self.partitions:
                parts.add_row("/".join(f"{k}={v}" for k, v in p.values.items()), str(p.rows_written), str(p.files))
            console.print(parts)
        for change in self.schema_changes:
            console.print(f"[cyan]schema:[/] {change}")
        for path, entity in self.pii.items():
            console.print(f"[magenta]pii:[/] {path} {entity}")
        for path, why in self.pii_doubts.items():
            console.print(f"[yellow]pii review:[/] {path}: {why}; it keeps the database's tags until the spec "
                          "overrides it")
        for column in self.unmatched_hints:
            console.print(f"[yellow]hint unused:[/] no file of this batch has a column {column}")
        for column in self.pending_columns:
            console.print(f"[yellow]pending:[/] {column} is NULL in every row; its type waits for a batch with values")
        for c in self.file_type_conflicts:
            sources = "; ".join(f"{kind} in {', '.join(u.rsplit('/', 1)[-1] for u in uris)}"
                                for kind, uris in c["files"].items())
            console.print(f"[cyan]files disagree:[/] {c['column']} -> {c['type']} ({sources})")
        for conflict in self.type_conflicts:
            console.print(f"[yellow]type conflict:[/] {conflict}")
        if self.already_committed:
            console.print(f"[green]no-op:[/] {self.already_committed}")
        if self.replaced:
            shown = ", ".join(self.replaced[:10]) + (f" and {len(self.replaced) - 10} more" if len(self.replaced) > 10 else "")
            console.print(f"[cyan]{self.mode}:[/] replaced {shown}; {self.files_removed} files taken out")
        if self.merge:
            console.print("[cyan]merge:[/] " + ", ".join(f"{k} {v}" for k, v in self.merge.items()))
        for q in self.quality:
            style = "green" if q["outcome"] == "Passed" else "yellow" if q["action"] == "warn" else "red"
            console.print(f"[{style}]quality {q['outcome'].lower()}:[/] {q['rule']}"
                          + (f" ({q['reason']}; {q['action']})" if q["reason"] else ""))
        if self.quality_published:
            console.print(f"[cyan]quality published:[/] {self.quality_published}")
        for line in self.widening:
            console.print(f"[cyan]widened:[/] {line}")
        if self.null_tokens:
            console.print("[cyan]missing-value tokens written as NULL:[/] "
                          + ", ".join(f"{k} {v}" for k, v in self.null_tokens.items()))
        for batch in self.recovered_batches:
            console.print(f"[yellow]recovered:[/] {batch}")
        console.print(f"rows read {self.rows_read} = written {self.rows_written} + quarantined "
                      f"{self.rows_quarantined}   batch {self.batch_id or '-'}   {self.duration_s:.1f}s")
        if self.rows_quarantined and self.quarantine_location:
            console.print(f"quarantine: {self.quarantine_location}")
        held = [f for f in self.files if f.status == "held"]
        if held:
            console.print(f"[yellow]held back:[/] {len(held)} file(s) changed since they were ingested (see reason)")

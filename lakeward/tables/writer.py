"""One pass over a batch: Spark tasks write its good rows as Parquet files near the target size, its bad
rows as quarantine JSON lines, and return the batch's accounting. Nothing is persisted or scanned twice.

The rows are shuffled by their partition values (so one partition's rows meet in one task), then each
task gets them as Arrow batches (``mapInArrow``) and writes with pyarrow, straight to the lake (local or
S3). Per partition, rows are buffered into row groups and a file is closed once it reaches the target
size (default 128 MB, ``LAKEWARD_TARGET_FILE_MB``). Files land under the batch's staging folder with Hive
partition folders escaped the way Spark escapes them. Each task returns one JSON report: row counts per
source file, partition and outcome (with the file size and time Spark read, the non-null values of the
watched columns and the rows each type conflict quarantined), the files with their Delta statistics, and
its quarantine files. A retried task's files are never reported, so they stay in staging and are removed
with it.

A watched (new) column that is NULL in every row a file starts with is left out of that file, and the
file is rolled when a value comes; so a column that turns out NULL in the whole batch (pending) is in no
file, and every engine reads a file without a column as NULLs in it.
"""
from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakeward.engines.bookkeeping import (
    FILE_COL,
    MTIME_COL,
    NULLED_COL,
    RAW_COL,
    REASON_COL,
    SIZE_COL,
)
from lakeward.runtime.storage import Storage
from lakeward.tables import DataFile

ROW_GROUP_BYTES = 128 * 2**20  # uncompressed Arrow bytes buffered per partition before a row group is written
TASK_BUFFER_BYTES = 512 * 2**20  # past this a task writes its largest buffer early
MIN_FLUSH_BYTES = 64 * 2**10
PART_PREFIX = "__lw_part_"
ACTION_COL = "__lw_action"  # merges: insert | update | delete | superseded | carried (rows kept from rewritten files)
_NOT_WRITTEN = ("delete", "superseded")
_ESCAPED = {*map(chr, range(1, 32)), '"', "#", "%", "'", "*", "/", ":", "=", "?", "\\", "\x7f", "{", "[", "]", "^"}


def partition_string(value: Any) -> Any:
    """A partition value as its folder has it: Spark's string cast, and NULL for an empty string (Spark
    writes both to the default partition)."""
    from pyspark.sql import functions as F

    return F.nullif(value.cast("string"), F.lit(""))


def no_source() -> list[Any]:
    """The bookkeeping of rows that come from the table itself (rewritten by a compaction or carried by a
    merge): no source, no reason, nothing nulled."""
    from pyspark.sql import functions as F

    return [F.lit(None).cast("string").alias(FILE_COL), F.lit(None).cast("string").alias(REASON_COL),
            F.lit(None).cast("string").alias(RAW_COL), F.lit(None).cast("long").alias(SIZE_COL),
            F.lit(None).cast("long").alias(MTIME_COL), F.lit(None).cast("string").alias(NULLED_COL)]


def escape_path_name(value: str) -> str:
    """A partition value as a folder name, escaped exactly as Spark/Hive escape it."""
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in value)


@dataclass(frozen=True)
class WritePlan:
    """What every task needs to know; pickled into the tasks."""

    staging_uri: str
    batch_id: str
    partition_names: tuple[str, ...]
    target_bytes: int
    watched: tuple[str, ...] = ()  # new columns: non-null counts reported, left out of files they are NULL in
    conflicts: tuple[str, ...] = ()  # columns whose values may not fit: rows quarantined for each are counted
    s3_options: dict[str, Any] = field(default_factory=dict)
    null_value: str = "__HIVE_DEFAULT_PARTITION__"
    write_rows: bool = True  # False for a table with no columns yet: rows are only counted
    actions: bool = False  # the frame has ACTION_COL (a merge)
    keys: tuple[str, ...] = ()  # columns of data quality rule keys: their non-NULL values are staged apart

    @property
    def bookkeeping(self) -> tuple[str, ...]:
        return (*(f"{PART_PREFIX}{i}" for i in range(len(self.partition_names))), FILE_COL, REASON_COL, RAW_COL,
                SIZE_COL, MTIME_COL, NULLED_COL, *((ACTION_COL,) if self.actions else ()), *self.keys)


@dataclass
class _OpenFile:
    relative: str
    stream: Any
    writer: pq.ParquetWriter
    columns: list[str]
    omitted: set[str]


@dataclass
class _Partition:
    values: dict[str, str | None]
    folder: str
    buffer: list[pa.Table] = field(default_factory=list)
    buffered: int = 0
    current: _OpenFile | None = None


class _TaskWriter:
    def __init__(self, plan: WritePlan):
        self.plan = plan
        self.fs, self.root = Storage(plan.s3_options).resolve(plan.staging_uri)
        self.partitions: dict[tuple, _Partition] = {}
        self.files: list[dict[str, Any]] = []
        self.counts: dict[tuple, dict[str, Any]] = {}
        self.quarantine: list[str] = []
        self.keys: dict[str, list[str]] = {}  # key column -> its staged files
        self.key_rows: dict[str, int] = {}  # key column -> the values staged
        self._key_writers: dict[str, tuple[Any, Any]] = {}
        self.actions: dict[str, int] = {}
        self.nulled: dict[str, int] = {}  # column -> written rows whose missing-value token became NULL
        self._bad_stream: Any = None
        self.ratio = 1.0  # uncompressed / written bytes, learned from the row groups written (1: no overshoot)
        self._raw_bytes = self._written_bytes = 0

    # accounting ----------------------------------------------------------------------------------
    def count(self, batch: pa.Table) -> None:
        if not batch.num_rows:
            return
        plan = self.plan
        ok = pc.is_null(batch[REASON_COL])
        columns = {FILE_COL: batch[FILE_COL], "ok": ok, SIZE_COL: batch[SIZE_COL], MTIME_COL: batch[MTIME_COL]}
        keys = [FILE_COL, *(f"{PART_PREFIX}{i}" for i in range(len(plan.partition_names))), "ok"]
        for i in range(len(plan.partition_names)):
            columns[f"{PART_PREFIX}{i}"] = batch[f"{PART_PREFIX}{i}"]
        aggregates: list[tuple] = [(FILE_COL, "count_all"), (SIZE_COL, "max"), (MTIME_COL, "max")]
        for i, name in enumerate(plan.watched):
            columns[f"nonnull_{i}"] = batch[name]
            aggregates.append((f"nonnull_{i}", "count"))
        reasons = batch[REASON_COL]
        for i, name in enumerate(plan.conflicts):
            hit = pc.fill_null(pc.match_substring(reasons, f"column {name}: value "), False)
            columns[f"conflict_{i}"] = pc.cast(hit, pa.int64())
            columns[f"example_{i}"] = pc.if_else(hit, reasons, pa.scalar(None, pa.string()))
            aggregates += [(f"conflict_{i}", "sum"), (f"example_{i}", "first")]
        grouped = pa.table(columns).group_by(keys, use_threads=False).aggregate(
            [(c, a) if a != "count_all" else ([], a) for c, a in aggregates]).to_pylist()
        merge_counts(self.counts, plan, [{
            FILE_COL: row[FILE_COL], "ok": row["ok"], "count": row["count_all"], "size": row[f"{SIZE_COL}_max"],
            "mtime_us": row[f"{MTIME_COL}_max"],
            **{n: row[f"{PART_PREFIX}{i}"] for i, n in enumerate(plan.partition_names)},
            **{f"nonnull_{i}": row[f"nonnull_{i}_count"] for i in range(len(plan.watched))},
            **{f"conflict_{i}": row[f"conflict_{i}_sum"] or 0 for i in range(len(plan.conflicts))},
            **{f"example_{i}": row[f"example_{i}_first"] for i in range(len(plan.conflicts))}} for row in grouped])

    def count_nulled(self, good: pa.Table) -> None:
        marks = good[NULLED_COL]
        if marks.null_count == len(marks):
            return
        names = pc.list_flatten(pc.split_pattern(marks.drop_null(), ","))
        for name, n in zip(*pc.value_counts(names).flatten()):
            self.nulled[name.as_py()] = self.nulled.get(name.as_py(), 0) + n.as_py()

    # bad rows ------------------------------------------------------------------------------------
    def quarantine_rows(self, bad: pa.Table) -> None:
        if not bad.num_rows:
            return
        if self._bad_stream is None:
            relative = f"_quarantine/part-{uuid.uuid4().hex}.json"
            self.quarantine.append(relative)
            self.fs.create_dir(f"{self.root}/_quarantine", recursive=True)
            self._bad_stream = self.fs.open_output_stream(f"{self.root}/{relative}")
        lines = [json.dumps({"source_file": f, "reason": r, "raw": raw, "batch_id": self.plan.batch_id},
                            ensure_ascii=False) + "\n"
                 for f, r, raw in zip(bad[FILE_COL].to_pylist(), bad[REASON_COL].to_pylist(), bad[RAW_COL].to_pylist())]
        self._bad_stream.write("".join(lines).encode())

    # rule keys -----------------------------------------------------------------------------------
    def stage_keys(self, table: pa.Table) -> None:
        """Each key column's non-NULL values (every row in the rules' scope, written or quarantined) into
        one Parquet file per task and column, column ``k``."""
        for name in self.plan.keys:
            values = table[name].drop_null()
            if not len(values):
                continue
            if name not in self._key_writers:
                relative = f"_dq_keys/{name}/part-{uuid.uuid4().hex}.parquet"
                self.fs.create_dir(f"{self.root}/_dq_keys/{name}", recursive=True)
                stream = self.fs.open_output_stream(f"{self.root}/{relative}")
                schema = pa.schema([pa.field("k", values.type)])
                self._key_writers[name] = (stream, pq.ParquetWriter(stream, schema, compression="snappy"))
                self.keys[name] = [relative]
            self._key_writers[name][1].write_table(pa.table({"k": values}))
            self.key_rows[name] = self.key_rows.get(name, 0) + len(values)

    # good rows -----------------------------------------------------------------------------------
    def add(self, good: pa.Table) -> None:
        plan = self.plan
        part_columns = [f"{PART_PREFIX}{i}" for i in range(len(plan.partition_names))]
        data = good.drop_columns(list(plan.bookkeeping))
        if not part_columns:
            self._buffer((), data)
            return
        keys = good.select(part_columns)
        if all(len(pc.unique(keys[c])) == 1 for c in part_columns):  # the common case: one partition per batch
            self._buffer(tuple(keys[c][0].as_py() for c in part_columns), data)
            return
        indexed = keys.append_column("__row", pa.array(range(good.num_rows), pa.int64()))
        for group in indexed.group_by(part_columns, use_threads=False).aggregate([("__row", "list")]).to_pylist():
            self._buffer(tuple(group[c] for c in part_columns), data.take(group["__row_list"]))

    def _buffer(self, key: tuple, data: pa.Table) -> None:
        part = self.partitions.get(key)
        if part is None:
            values = dict(zip(self.plan.partition_names, key))
            folder = "/".join(f"{escape_path_name(n)}={escape_path_name(self.plan.null_value if v is None else v)}"
                              for n, v in values.items())
            part = self.partitions[key] = _Partition(values, folder)
        part.buffer.append(data)
        part.buffered += data.nbytes
        if part.buffered >= self._flush_bytes(part):
            self._flush(part)
        if sum(p.buffered for p in self.partitions.values()) > TASK_BUFFER_BYTES:
            self._flush(max(self.partitions.values(), key=lambda p: p.buffered))

    def _flush_bytes(self, part: _Partition) -> float:
        written = part.current.stream.tell() if part.current else 0
        remaining = max(self.plan.target_bytes - written, 0)
        return min(ROW_GROUP_BYTES, max(remaining * self.ratio, MIN_FLUSH_BYTES))

    def _flush(self, part: _Partition) -> None:
        """Write the partition's buffer, cut into files of about the target size."""
        if not part.buffer:
            return
        table = pa.concat_tables(part.buffer)
        part.buffer, part.buffered = [], 0
        watched = [c for c in self.plan.watched if c in table.column_names]
        row_bytes = max(table.nbytes / table.num_rows, 1.0)
        while table.num_rows:
            written = part.current.stream.tell() if part.current else 0
            fit = max(1, int((self.plan.target_bytes - written) * self.ratio / row_bytes))
            chunk, table = table.slice(0, fit), table.slice(fit)
            empty = {c for c in watched if chunk[c].null_count == chunk.num_rows}
            if part.current is not None and part.current.omitted - empty:
                self._close(part)  # a value came for a column this file left out
            if part.current is None:
                part.current = self._open(part, [c for c in chunk.column_names if c not in empty], empty, chunk)
            before = part.current.stream.tell()
            part.current.writer.write_table(chunk.select(part.current.columns), row_group_size=chunk.num_rows)
            self._raw_bytes += chunk.nbytes
            self._written_bytes += part.current.stream.tell() - before
            self.ratio = max(self._raw_bytes / max(self._written_bytes, 1), 1.0)
            if part.current.stream.tell() >= self.plan.target_bytes * 0.9:
                self._close(part)

    def _open(self, part: _Partition, columns: list[str], omitted: set[str], table: pa.Table) -> _OpenFile:
        name = f"part-{uuid.uuid4().hex}-{self.plan.batch_id[-8:]}.snappy.parquet"
        relative = f"{part.folder}/{name}" if part.folder else name
        path = f"{self.root}/{relative}"
        self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        stream = self.fs.open_output_stream(path)
        schema = table.select(columns).schema
        writer = pq.ParquetWriter(stream, schema, compression="snappy", write_statistics=True)
        return _OpenFile(relative, stream, writer, columns, omitted)

    def _close(self, part: _Partition) -> None:
        from lakeward.tables.delta import footer_stats

        current, part.current = part.current, None
        current.writer.close()
        size = current.stream.tell()
        current.stream.close()
        metadata = current.writer.writer.metadata
        self.files.append({"relative": current.relative, "partition_values": part.values, "size": size,
                           "rows": metadata.num_rows, "stats": json.dumps(footer_stats(metadata))})

    def finish(self) -> dict[str, Any]:
        for part in self.partitions.values():
            self._flush(part)
            if part.current is not None:
                self._close(part)
        if self._bad_stream is not None:
            self._bad_stream.close()
        for stream, writer in self._key_writers.values():
            writer.close()
            stream.close()
        return {"counts": list(self.counts.values()), "files": self.files, "quarantine": self.quarantine,
                "actions": self.actions, "nulled": self.nulled, "keys": self.keys, "key_rows": self.key_rows}


def merge_counts(into: dict[tuple, dict[str, Any]], plan: WritePlan, rows: list[dict[str, Any]]) -> None:
    """Add count rows (per source file, partition and outcome) into ``into``: counts and per-column
    figures summed, the largest size and time Spark read kept, the first example kept."""
    for row in rows:
        key = (row[FILE_COL], *(row[n] for n in plan.partition_names), row["ok"])
        entry = into.get(key)
        if entry is None:
            into[key] = dict(row)
            continue
        entry["count"] += row["count"]
        entry["size"], entry["mtime_us"] = _max(entry["size"], row["size"]), _max(entry["mtime_us"], row["mtime_us"])
        for name, value in row.items():
            if name.startswith(("nonnull_", "conflict_")):
                entry[name] += value
            elif name.startswith("example_"):
                entry[name] = entry[name] or value


def _max(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else max(a, b)


def write_task(plan: WritePlan, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The mapInArrow function: every row of this task's share of the batch written or quarantined."""
    task = _TaskWriter(plan)
    for batch in batches:
        if not batch.num_rows:
            continue
        table = pa.Table.from_batches([batch])
        ok = pc.is_null(table[REASON_COL])
        if plan.actions:
            for action, n in zip(*pc.value_counts(table[ACTION_COL]).flatten()):
                if action.as_py() is not None:
                    task.actions[action.as_py()] = task.actions.get(action.as_py(), 0) + n.as_py()
            source = pc.is_valid(table[FILE_COL])  # carried rows came from the table, not the source
            task.count(table.filter(source))
            ok = pc.and_(ok, pc.invert(pc.fill_null(pc.is_in(table[ACTION_COL], pa.array(_NOT_WRITTEN)), False)))
        else:
            task.count(table)
        task.stage_keys(table)
        task.quarantine_rows(table.filter(pc.is_valid(table[REASON_COL])))
        good = table.filter(ok)
        task.count_nulled(good)
        if good.num_rows and plan.write_rows:
            task.add(good)
    yield pa.RecordBatch.from_pylist([{"report": json.dumps(task.finish(), default=str)}],
                                     schema=pa.schema([("report", pa.string())]))


@dataclass(frozen=True)
class CountRow:
    """Rows of one source, partition and outcome (written or quarantined)."""

    source: str  # as the row's source column has it (a file path in Spark's form, or a stream's label)
    ok: bool
    count: int
    size: int | None  # the size and time of the bytes Spark read, for files
    mtime_us: int | None
    partition: dict[str, str | None]
    nonnull: tuple[int, ...] = ()  # per watched column: its non-null values
    conflicts: tuple[int, ...] = ()  # per checked column: the rows quarantined for it
    examples: tuple[str | None, ...] = ()  # per checked column: one reason with its value


@dataclass
class BatchOutput:
    counts: list[CountRow]
    files: list[DataFile]
    quarantine: list[str]  # quarantine files, relative to the staging folder
    actions: dict[str, int] = field(default_factory=dict)  # merges: rows per action
    nulled: dict[str, int] = field(default_factory=dict)  # column -> missing-value tokens written as NULL
    keys: dict[str, list[str]] = field(default_factory=dict)  # rule key column -> staged files (relative)
    key_rows: dict[str, int] = field(default_factory=dict)  # rule key column -> the values staged


def write_batch(frame: Any, plan: WritePlan, tasks: int | None) -> BatchOutput:
    """Run the pass over ``frame`` (data columns, then ``plan.bookkeeping``) and merge the tasks' reports.
    With ``tasks`` None a partitioned batch is shuffled by its partition values (a partition's rows meet in
    one task); with 0 it is taken as it comes; otherwise the frame is coalesced to that many tasks, each writing the partitions it meets
    (no shuffle: for small batches, and for unpartitioned ones, so small input splits do not each become
    a small file)."""
    if tasks is None and plan.partition_names:
        frame = frame.repartition(*[f"{PART_PREFIX}{i}" for i in range(len(plan.partition_names))])
    elif tasks:  # 0: the caller distributed the rows already
        frame = frame.coalesce(tasks)
    reports = [json.loads(r["report"]) for r in frame.mapInArrow(partial(write_task, plan), "report string").collect()]
    return merge_reports(plan, reports)


def write_rows(table: pa.Table, plan: WritePlan) -> BatchOutput:
    """A few rows already in Arrow (data columns, then ``plan.bookkeeping``) written here, as one task
    writes its share: the same files, accounting and staging, without Spark."""
    return merge_reports(plan, [json.loads(r.column("report")[0].as_py()) for r in write_task(plan, iter(table.to_batches()))])


def merge_reports(plan: WritePlan, reports: list[dict[str, Any]]) -> BatchOutput:
    """The tasks' reports as one batch's output."""
    merged: dict[tuple, dict[str, Any]] = {}
    for report in reports:
        merge_counts(merged, plan, report["counts"])
    actions: dict[str, int] = {}
    nulled: dict[str, int] = {}
    for report in reports:
        for action, n in report["actions"].items():
            actions[action] = actions.get(action, 0) + n
        for column, n in report["nulled"].items():
            nulled[column] = nulled.get(column, 0) + n
    counts = [CountRow(row[FILE_COL], row["ok"], row["count"], row["size"], row["mtime_us"],
                       {n: row[n] for n in plan.partition_names},
                       tuple(row[f"nonnull_{i}"] for i in range(len(plan.watched))),
                       tuple(row[f"conflict_{i}"] for i in range(len(plan.conflicts))),
                       tuple(row[f"example_{i}"] for i in range(len(plan.conflicts)))) for row in merged.values()]
    files = [DataFile(f["relative"], f["partition_values"], f["size"], f["rows"], f["stats"])
             for r in reports for f in r["files"]]
    keys: dict[str, list[str]] = {}
    key_rows: dict[str, int] = {}
    for report in reports:
        for name, staged in report["keys"].items():
            keys.setdefault(name, []).extend(staged)
            key_rows[name] = key_rows.get(name, 0) + report["key_rows"][name]
    return BatchOutput(counts, files, [q for r in reports for q in r["quarantine"]], actions,
                       dict(sorted(nulled.items())), keys, key_rows)


def file_count(input_bytes: int, target: int) -> int:
    """Files for a batch written without a shuffle: its raw size over the target (Parquet is rarely
    larger than the raw text, so no file needs more than one task's rows)."""
    return max(1, math.ceil(input_bytes / target))

"""Merge (upsert, with optional CDC operations) into a Delta table, copy-on-write, all in Spark.

1. The batch's good rows get a change operation: the change column's I/U/D, or an upsert without one.
   Per key the last change wins (by ``order_by``, else by source file and position); the others are
   ``superseded``. A row with a NULL key or an unknown operation is quarantined.
2. The live files that may hold a key of the batch are read (key columns only) to find the keys that
   exist and the files that hold them: only those files are rewritten. A file is left unread when the
   log's min/max statistics of the first merge key hold none of the batch's keys, or when it lies in a
   partition the batch does not reach and the partition columns are merge keys (a key's partition never
   changes then). So a micro-batch touching 100 keys of a large table reads only the files that may
   hold them.
3. The writer gets one frame: the batch's rows (winners become ``insert``/``update`` rows, deletes and
   superseded rows are counted but not written) and the rows of the rewritten files whose key the batch
   does not change (``carried``). The Delta commit removes the rewritten files and adds the new ones in
   one transaction.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from urllib.parse import unquote

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from catalog.schema import TableDefinition
from lakeward.engines.bookkeeping import (
    FILE_COL,
    REASON_COL,
    source_uri,
)
from lakeward.engines.spark_columns import quoted
from lakeward.runtime.storage import Storage, join
from lakeward.tables import delta
from lakeward.tables.table_files import TABLE_FILE_COL, footers, read_table_files
from lakeward.tables.write_modes import WriteSettings
from lakeward.tables.writer import ACTION_COL, no_source, partition_string

OP_COL = "__lw_op"
_SEQ = "__lw_seq"


@dataclass
class MergePlan:
    frame: DataFrame  # the projected batch rows plus the carried rows, with ACTION_COL
    touched: set[str]  # Delta log paths of the files to rewrite
    files_live: int = 0
    files_scanned: int = 0  # live files read to find the batch's keys (the others were pruned)


def change_operation(settings: WriteSettings, sources: list) -> object:
    """The change operation of a projected row, from the raw fields the change column comes from."""
    if settings.change_column is None:
        return F.lit("U")
    value = F.coalesce(*[quoted(s.name).cast("string") for s in sources]) if sources else F.lit(None)
    return F.upper(F.trim(value))


def merge_reason(settings: WriteSettings) -> object:
    """Why a row cannot take part in the merge, or NULL."""
    checks = [F.when(quoted(k).isNull(), F.lit(f"merge key {k} is NULL")) for k in settings.merge_keys]
    if settings.change_column:
        checks.append(F.when(~F.col(OP_COL).isin("I", "U", "D") | F.col(OP_COL).isNull(), F.concat(
            F.lit(f"change column {settings.change_column}: "),
            F.coalesce(F.concat(F.lit("'"), F.col(OP_COL), F.lit("'")), F.lit("NULL")),
            F.lit(" is not I (insert), U (update) or D (delete)"))))
    return F.coalesce(*checks)


def plan_merge(spark: SparkSession, rows: DataFrame, table: TableDefinition, settings: WriteSettings,
               storage_options: dict[str, str], storage: Storage | None = None) -> MergePlan:
    """``storage`` given: a column's type widens, so every file is rewritten (its footer tells the type
    it holds) and every row the batch does not change is carried."""
    keys = list(settings.merge_keys)
    rows = rows.withColumn(_SEQ, F.monotonically_increasing_id())
    order = [F.col(settings.order_by).desc_nulls_last()] if settings.order_by else []
    good = F.col(REASON_COL).isNull()
    # quarantined rows are ranked apart: a bad later change must not supersede a good one
    winner = Window.partitionBy(good, *[quoted(k) for k in keys]).orderBy(*order, F.col(FILE_COL).desc(),
                                                                          F.col(_SEQ).desc())
    ranked = rows.withColumn("__lw_rank", F.when(good, F.row_number().over(winner)))

    snapshot = delta.open_table(table.location, storage_options)
    files = delta.live_files(snapshot, [keys[0]]) if snapshot is not None else []
    live = len(files)
    batch_keys = ranked.where(good).select(*[quoted(k) for k in keys]).distinct()
    if storage is None and files:  # a widening rewrites every file anyway
        files = _candidates(files, batch_keys, keys, table)
    if not files:  # nothing to match: every change inserts (or deletes nothing)
        frame = ranked.withColumn(ACTION_COL, _action(F.lit(False)))
        return MergePlan(frame.drop("__lw_rank", _SEQ, OP_COL), set(), live, 0)
    uris = [join(table.location, unquote(f["path"])) for f in files]
    existing = read_table_files(spark, table, uris, footers(storage, uris) if storage is not None else None)

    present = existing.select(*[quoted(k) for k in keys], F.col(TABLE_FILE_COL)).distinct()
    hits = present.join(batch_keys, keys, "left_semi")
    by_uri = {join(table.location, unquote(f["path"])): f["path"] for f in files}
    if storage is not None:
        touched = {f["path"] for f in files}
    else:
        touched_uris = {r[0] for r in hits.select(TABLE_FILE_COL).distinct().collect()}  # file names, not rows
        touched = {by_uri[source_uri(u)] for u in touched_uris}

    matched = hits.select(*[quoted(k) for k in keys]).distinct().withColumn("__lw_matched", F.lit(True))
    batch = (ranked.join(matched, keys, "left")
             .withColumn(ACTION_COL, _action(F.coalesce(F.col("__lw_matched"), F.lit(False))))
             .drop("__lw_rank", "__lw_matched", _SEQ, OP_COL))
    kept = existing if storage is not None else existing.where(F.col(TABLE_FILE_COL).isin(sorted(touched_uris)))
    kept = kept.join(batch_keys, keys, "left_anti")
    carried = kept.select(
        *[quoted(c.name) for c in table.columns],
        *[quoted(k.name) for k in table.partition_keys],
        *no_source(), F.lit("carried").alias(ACTION_COL))
    return MergePlan(batch.unionByName(carried, allowMissingColumns=True), touched, live, len(files))


KEYS_ON_DRIVER = 100_000  # a micro-batch's distinct first keys compared with the files' ranges; past it min/max


def _candidates(files: list[dict], batch_keys: DataFrame, keys: list[str], table: TableDefinition) -> list[dict]:
    """The live files that may hold one of the batch's keys (see the module's step 2)."""
    key = keys[0]
    partitioned = [k.name for k in table.partition_keys if k.name in keys]
    if partitioned and len(partitioned) == len(table.partition_keys):
        # as the folders (and the log) have them: Spark's string cast ("true", not Python's "True")
        reached = {tuple(r[n] for n in partitioned) for r in batch_keys.select(
            *[partition_string(quoted(n)).alias(n) for n in partitioned]).distinct().collect()}
        files = [f for f in files if tuple(f["partition_values"].get(n) for n in partitioned) in reached]
    if not any(f.get("min") is not None for f in files):
        return files
    sample = batch_keys.select(quoted(key)).where(quoted(key).isNotNull()).distinct().limit(KEYS_ON_DRIVER + 1)
    values = sorted(r[0] for r in sample.collect())
    if len(values) > KEYS_ON_DRIVER:
        bounds = batch_keys.agg(F.min(quoted(key)), F.max(quoted(key))).collect()[0]
        values = [bounds[0], bounds[1]]
        return [f for f in files if _overlaps(f, values[0], values[1])]
    return [f for f in files if _holds_any(f, values)]


def _overlaps(f: dict, low: object, high: object) -> bool:
    try:
        return f.get("min") is None or f.get("max") is None or not (high < f["min"] or low > f["max"])  # type: ignore[operator]
    except TypeError:
        return True


def _holds_any(f: dict, values: list) -> bool:
    if f.get("min") is None or f.get("max") is None:
        return True
    try:
        i = bisect.bisect_left(values, f["min"])
        return i < len(values) and values[i] <= f["max"]
    except TypeError:  # a statistic of another type than the key's values: no pruning
        return True


def _action(matched: object) -> object:
    op = F.col(OP_COL)
    return (F.when(F.col(REASON_COL).isNotNull(), F.lit(None))
            .when(F.col("__lw_rank") > 1, F.lit("superseded"))
            .when(op == "D", F.lit("delete"))
            .when(matched, F.lit("update"))  # type: ignore[arg-type]
            .otherwise(F.lit("insert")))

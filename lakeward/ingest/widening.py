"""Widening a column past what the table's files can be read as (ADR 0011): the files that hold the
narrower type are rewritten with the batch, so no row of the batch is quarantined for being wider.

- A partitioned Parquet table whose older partitions Athena can cast (bigint to double, int to
  decimal): the table takes the wider type, partitions the batch does not write to keep declaring the
  type their files hold, and a partition the batch writes to is rewritten whole in the wider type
  (its rows carried into the batch, its location swapped as an overwrite does). Later batches that
  write to a partition still declaring the narrower type rewrite it the same way.
- Any other table (unpartitioned, Delta, a change Athena cannot cast per partition): every file is
  rewritten in the same commit.
- ``widen: auto`` rewrites at most ``LAKEWARD_WIDEN_REWRITE_MB`` (default 1 GiB) for the batch that
  widens; past it the batch is planned as ``widen: quarantine`` (the values that do not fit the old
  type are quarantined) and the report says how to ask for the rewrite.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from catalog.definitions import behind
from catalog.glue import GlueCatalog
from catalog.partition_projection import is_projected
from catalog.partition_spec import HIVE_NULL
from catalog.schema import Partition, TableDefinition
from lakeward.engines.bookkeeping import REASON_COL
from lakeward.engines.spark_columns import quoted
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.storage import Storage
from lakeward.tables.inventory import PartFiles, table_inventory
from lakeward.tables.table_files import footers, read_table_files
from lakeward.tables.writer import (
    ACTION_COL,
    PART_PREFIX,
    BatchOutput,
    WritePlan,
    no_source,
    partition_string,
    write_batch,
)

Values = tuple[str, ...]  # partition values as Glue has them (HIVE_NULL for NULL)


@dataclass
class Carry:
    """The table's own files a batch rewrites with its rows, and how the batch then commits."""

    mode: str  # the write mode of the commit: overwrite, overwrite-partitions or merge
    parts: list[PartFiles] = field(default_factory=list)
    whole_table: bool = False  # every file (Delta, unpartitioned, or a change Athena cannot cast)

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.parts)

    @property
    def uris(self) -> list[str]:
        return [uri for p in self.parts for uri, _ in p.files]

    def describe(self, rows: int, columns: list[str]) -> str:
        where = "the whole table" if self.whole_table else ", ".join(p.label() for p in self.parts[:10]) + (
            f" and {len(self.parts) - 10} more" if len(self.parts) > 10 else "")
        return (f"{', '.join(columns)}: rewrote {where} in the wider type ({len(self.uris)} files, "
                f"{_size(self.bytes)}, {rows} rows carried)")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _values(table: TableDefinition, part: PartFiles) -> Values:
    return tuple(HIVE_NULL if part.values.get(k.name) is None else str(part.values[k.name])
                 for k in table.partition_keys)


def batch_partitions(rows: DataFrame, table: TableDefinition) -> set[Values]:
    """The partitions the batch's good rows go to (one small Spark job: distinct partition values)."""
    names = [k.name for k in table.partition_keys]
    found = (rows.where(F.col(REASON_COL).isNull())
             .select(*[partition_string(quoted(n)).alias(n) for n in names]).distinct().collect())
    return {tuple(HIVE_NULL if r[n] is None else r[n] for n in names) for r in found}


def per_partition(table: TableDefinition, rewrites: list, projected: bool) -> bool:
    return table.format == "parquet" and bool(table.partition_keys) and not projected and \
        all(r.per_partition for r in rewrites)


def plan_carry(aws: AwsContext, storage: Storage, old: TableDefinition, new: TableDefinition, mode: str,
               rewrites: list, projected: bool, rows: DataFrame) -> Carry | None:
    """What a batch that widens must rewrite with it; None when nothing (an overwrite replaces it all, or
    a partitioned Parquet table whose partitions are rewritten as the batch reaches them)."""
    if not rewrites or mode == "overwrite":
        return None
    projected = projected or is_projected(old.parameters)
    if per_partition(new, rewrites, projected):
        if mode == "overwrite-partitions":
            return None
        wanted = batch_partitions(rows, new)
        return Carry("overwrite-partitions", [p for p in table_inventory(aws, storage, old)
                                              if _values(old, p) in wanted and p.files])
    parts = [p for p in table_inventory(aws, storage, old) if p.files]
    if mode == "overwrite-partitions":  # the batch's own partitions are replaced anyway
        replaced = batch_partitions(rows, new)
        parts = [p for p in parts if _values(old, p) not in replaced]
    return Carry("merge" if mode == "merge" else "overwrite", parts, whole_table=True)


def _parts_of(storage: Storage, table: TableDefinition, partitions: list[Partition]) -> list[PartFiles]:
    names = [k.name for k in table.partition_keys]
    return [PartFiles({n: (None if v == HIVE_NULL else v) for n, v in zip(names, p.values)},
                      [(e.uri, e.size) for e in storage.list_files(p.location) if e.uri.endswith(".parquet")])
            for p in partitions]


def rewrite_stale(spark: object, glue: GlueCatalog, storage: Storage, table: TableDefinition, plan: WritePlan,
                  output: BatchOutput) -> tuple[frozenset[Values], list[str]]:
    """After an append to a partitioned Parquet table is written: the registered partitions it wrote to
    that still declare a narrower type than the table's (kept so when the table widened) are rewritten
    whole in the table's type into the same staging folder. Returns them (to be replaced, not appended
    to) and what was done."""
    if table.format != "parquet" or not table.partition_keys or is_projected(table.parameters):
        return frozenset(), []
    written = sorted({tuple(HIVE_NULL if f.partition_values[k.name] is None else f.partition_values[k.name]
                            for k in table.partition_keys) for f in output.files})  # type: ignore[misc]
    stale = [p for p in glue.get_partitions(table, written).values() if behind(table, p)]
    if not stale:
        return frozenset(), []
    parts = _parts_of(storage, table, stale)
    more = write_batch(carried_rows(spark, storage, table, [u for p in parts for u, _ in p.files]),
                       replace(plan, watched=(), conflicts=(), actions=True, keys=()), None)
    output.files.extend(more.files)
    columns = sorted({c for p in stale for c in behind(table, p)})
    return frozenset(p.values for p in stale), [Carry("append", parts).describe(more.actions.get("carried", 0), columns)]


def carried_rows(spark: object, storage: Storage, table: TableDefinition, uris: list[str]) -> DataFrame:
    """The rows of these table files in the table's (wider) types, shaped as the writer takes them."""
    rows = read_table_files(spark, table, uris, footers(storage, uris))  # type: ignore[arg-type]
    return rows.select(*[quoted(c.name) for c in table.columns],
                       *[partition_string(quoted(k.name)).alias(f"{PART_PREFIX}{i}")
                         for i, k in enumerate(table.partition_keys)],
                       *no_source(), F.lit("carried").alias(ACTION_COL))

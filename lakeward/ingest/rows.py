"""The front door for a few rows already in Arrow (the quality history's): appended to a Parquet table that
exists and whose columns they match exactly, written and committed here without a Spark job, through the
same lock, ledger, staging, task writer and Glue registration as any batch.

Anything else (a table to create, a column to add, a type to change, Delta, partitions that are not text)
belongs to the DataFrame front door: ``append_rows`` returns None and the caller goes there.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from catalog import types as C
from catalog.schema import CatalogTable
from lakeward.engines.arrow_types import arrow_schema
from lakeward.engines.bookkeeping import FILE_COL, MTIME_COL, SIZE_COL
from lakeward.engines.bookkeeping import NULLED_COL, RAW_COL, REASON_COL
from lakeward.ingest.accounting import account
from lakeward.ingest.report import RunReport
from lakeward.ingest.request import IngestRequest
from lakeward.ingest.table_writer import TableWriter
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings
from lakeward.tables.commit import staging_uri
from lakeward.tables.ledger import BatchRecord
from lakeward.tables.parquet import commit_parquet
from lakeward.tables.writer import PART_PREFIX, WritePlan, write_rows


def append_rows(aws: AwsContext, request: IngestRequest, settings: Settings, rows: pa.Table, batch_id: str,
                source: str) -> RunReport | None:
    """Append ``rows`` (every column of the table, partition columns included) as the batch ``batch_id``
    (a batch id the table committed before is a no-op); None when the table is not one this door takes."""
    with TableWriter(None, aws, request, settings, purpose="append rows") as writer:
        report = RunReport(writer.qualified_name, "parquet", batch_id, writer.table_uri)
        if done := writer.committed(batch_id):
            report.already_committed = done
            return report
        rows = _without_pending(writer.current, rows)
        if not _fits(writer.current, rows):
            return None
        definition = writer.current.definition  # type: ignore[union-attr]
        names = tuple(k.name for k in definition.partition_keys)
        plan = WritePlan(staging_uri(writer.table_uri, batch_id), batch_id, names, settings.target_bytes,
                         s3_options=writer.storage.s3_options)
        none = pa.nulls(rows.num_rows, pa.string())
        framed = pa.table({**{c.name: rows[c.name] for c in definition.columns},
                           **{f"{PART_PREFIX}{i}": _folder_value(rows[n]) for i, n in enumerate(names)},
                           FILE_COL: pa.array([source] * rows.num_rows, pa.string()), REASON_COL: none, RAW_COL: none,
                           SIZE_COL: pa.nulls(rows.num_rows, pa.int64()), MTIME_COL: pa.nulls(rows.num_rows, pa.int64()),
                           NULLED_COL: none})
        output = write_rows(framed, plan)
        record = BatchRecord(batch_id, writer.ctx.state.next_seq, table=(writer.database, writer.name),
                             caller_batch_id=batch_id)
        commit_parquet(writer.ctx, definition, writer.current, output.files, record, writer.table_uri)
        account(report, [], output.counts, set())
        return report


def _folder_value(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """As Spark writes it: an empty string goes to the default partition, as NULL does."""
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _without_pending(current: CatalogTable | None, rows: pa.Table) -> pa.Table:
    """The rows without the columns the table does not have yet and the rows leave NULL: the DataFrame
    door would leave them pending too (their type waits for a batch with values)."""
    if current is None:
        return rows
    known = {c.name for c in (*current.definition.columns, *current.definition.partition_keys)}
    pending = [n for n in rows.column_names if n not in known and rows[n].null_count == rows.num_rows]
    return rows.drop_columns(pending)


def _fits(current: CatalogTable | None, rows: pa.Table) -> bool:
    """A Parquet table whose columns are exactly the rows' (types included) and partitioned by text."""
    if current is None or current.definition.format != "parquet":
        return False
    table = current.definition
    keys = [k.name for k in table.partition_keys]
    if sorted(rows.column_names) != sorted([c.name for c in table.columns] + keys):
        return False
    if any(k.type != C.STRING or rows.schema.field(k.name).type != pa.string() for k in table.partition_keys):
        return False
    return rows.select([c.name for c in table.columns]).schema == arrow_schema(table.columns)

"""Tables of a query resolved through the Glue Data Catalog, pruned to the partitions a query can match.

Conjuncts of the WHERE clause that touch only partition columns are evaluated against the partition list
first, so only the selected partitions' files are opened (Parquet: Glue partitions; Delta: the log's add
actions). The files are exposed as a pyarrow dataset in the catalog's schema.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
from sqlglot import exp

from catalog.glue import GlueCatalog
from catalog.partition_projection import is_projected
from catalog.partition_spec import HIVE_NULL
from catalog.schema import TableDefinition
from catalog.types import TIMESTAMP, to_hive
from lakeward.engines.arrow_types import to_arrow
from lakeward.errors import QueryError
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.storage import FileEntry, Storage, join
from lakeward.tables import delta

DEFAULT_DATABASE = "default"


@dataclass
class TableScan:
    table: str
    format: str
    partitions_total: int
    partitions_scanned: int
    files_scanned: int


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    scans: list[TableScan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # where the local translation could not follow Trino

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]


def _conjuncts(condition: exp.Expression) -> list[exp.Expression]:
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


def _null_extended(table: exp.Table, select: exp.Select) -> bool:
    """True when an outer join can give this table's columns NULLs that a WHERE clause then tests: its
    rows must not be filtered before the join."""
    joins = select.args.get("joins") or []
    for i, clause in enumerate(joins):
        side = (clause.side or "").upper()
        if side == "FULL":
            return True
        if side == "LEFT" and clause.this is table:
            return True
        if side == "RIGHT":
            source = select.args.get("from") or select.args.get("from_")
            earlier = [source.this if source else None, *(j.this for j in joins[:i])]
            if any(t is table for t in earlier):
                return True
    return False


def partition_predicate(table: exp.Table, keys: set[str]) -> exp.Expression | None:
    """The part of the enclosing WHERE that only reads this table's partition columns (None when nothing
    can be pushed safely)."""
    select = table.find_ancestor(exp.Select)
    where = select.args.get("where") if select else None
    if where is None or not keys or _null_extended(table, select):
        return None
    single = len([t for t in select.find_all(exp.Table) if t.find_ancestor(exp.Select) is select]) == 1
    kept = []
    for conjunct in _conjuncts(where.this):
        columns = list(conjunct.find_all(exp.Column))
        if not columns or conjunct.find(exp.Select, exp.Rand) is not None or _random(conjunct):
            continue
        if all(c.name in keys and _refers_to(c, table, single) for c in columns):
            copy = conjunct.copy()
            for c in copy.find_all(exp.Column):
                c.set("table", None)
                c.set("db", None)
            kept.append(copy)
    return exp.and_(*kept) if kept else None


def _random(condition: exp.Expression) -> bool:
    """A condition whose value changes between evaluations cannot decide a whole partition."""
    return any(f.name.lower() in ("random", "rand", "uuid", "shuffle") for f in condition.find_all(exp.Anonymous))


def _refers_to(column: exp.Column, table: exp.Table, single: bool) -> bool:
    if not column.table:
        return single
    if table.alias:
        return column.table == table.alias and not column.db
    return column.table == table.name and (not column.db or column.db == (table.db or DEFAULT_DATABASE))


class Resolver:
    """Tables of the Glue Data Catalog as pyarrow datasets of the files a query needs."""

    def __init__(self, aws: AwsContext):
        self.aws = aws
        self.glue = GlueCatalog(aws.client("glue"))
        self.storage = Storage.for_aws(aws)

    def table(self, node: exp.Table) -> TableDefinition:
        database = node.db or DEFAULT_DATABASE
        found = self.glue.load_table(database, node.name)
        if found is None:
            raise QueryError(f"table {database}.{node.name} is not in the Glue Data Catalog")
        return found.definition

    def candidates(self, table: TableDefinition) -> list[tuple[dict[str, str | None], list[str] | str]]:
        """(partition values, file URIs or the partition's location) per partition."""
        return [(values, [e.uri for e in files] if not isinstance(files, str) else files)
                for values, files in self.entries(table)]

    def entries(self, table: TableDefinition) -> list[tuple[dict[str, str | None], list[FileEntry] | str]]:
        """(partition values, files or the partition's location) per partition, from the catalog (Parquet)
        or the log (Delta)."""
        if table.format == "delta":
            dt = delta.open_table(table.location, self.aws.storage_options())
            if dt is None:
                raise QueryError(f"{table.qualified_name}: no Delta log at {table.location}")
            actions = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
            grouped: dict[tuple, list[FileEntry]] = {}
            for a in actions:
                values = tuple(a.get(f"partition.{k.name}") for k in table.partition_keys)
                modified = a.get("modification_time")
                grouped.setdefault(values, []).append(FileEntry(
                    join(table.location, unquote(a["path"])), a.get("size_bytes") or 0,
                    int(modified.timestamp() * 1e9) if hasattr(modified, "timestamp") else int(modified or 0) * 10**6))
            return [({k.name: None if v is None else str(v) for k, v in zip(table.partition_keys, values)}, files)
                    for values, files in grouped.items()]
        if not table.partition_keys:
            return [({}, self._parquet_files(table.location))]
        if is_projected(table.parameters):  # Athena computes the partitions; locally, the folders tell
            return self._listed_partitions(table)
        # A Parquet partition's files are listed only if it survives pruning: its location stands in.
        return [({k.name: (None if v == HIVE_NULL else v) for k, v in zip(table.partition_keys, p.values)},
                 p.location) for p in self.glue.partitions(table.database, table.name)]

    def _parquet_files(self, location: str) -> list[FileEntry]:
        return [e for e in self.storage.list_files(location) if e.uri.endswith(".parquet")]

    def _listed_partitions(self, table: TableDefinition) -> list[tuple[dict[str, str | None], list[FileEntry] | str]]:
        keys = [k.name for k in table.partition_keys]
        grouped: dict[tuple, list[FileEntry]] = {}
        prefix = table.location.rstrip("/") + "/"
        for entry in self.storage.list_files(table.location):
            parts = entry.uri[len(prefix):].split("/")
            pairs = [p.partition("=") for p in parts[:-1]]
            if not entry.uri.endswith(".parquet") or [unquote(k) for k, _, _ in pairs] != keys:
                continue
            values = tuple(None if unquote(v) == HIVE_NULL else unquote(v) for _, _, v in pairs)
            grouped.setdefault(values, []).append(entry)
        return [(dict(zip(keys, values)), files) for values, files in sorted(grouped.items(), key=str)]

    def dataset(self, table: TableDefinition, predicate: exp.Expression | None,
                pseudo: bool = False) -> tuple[ds.Dataset, TableScan]:
        """The selected partitions' files in the catalog's schema; with ``pseudo``, Athena's "$path",
        "$file_size" and "$file_modified_time" too (constant per file, so a filter on them prunes files).
        Top-level timestamps are read as UTC instants (what the files hold); the caller shows them zone-less."""
        candidates = self.entries(table)
        selected = prune_partitions(table, candidates, predicate)
        files, partitions = [], []
        for index in selected:
            values, found = candidates[index]
            if isinstance(found, str):
                found = self._parquet_files(found)
            expression = _partition_expression(table, values)
            for entry in found:
                files.append(entry)
                partitions.append(expression & _pseudo_expression(entry) if pseudo else expression)
        schema = pa.schema([pa.field(c.name, to_arrow(c.type, utc=c.type == TIMESTAMP))
                            for c in (*table.columns, *table.partition_keys)])
        if pseudo:
            schema = pa.schema([*schema, *PSEUDO_COLUMNS])
        scan = TableScan(table.qualified_name, table.format, len(candidates), len(selected), len(files))
        if not files:
            return ds.dataset(pa.table({f.name: pa.array([], f.type) for f in schema})), scan
        fs, _ = self.storage.resolve(files[0].uri)
        dataset = ds.FileSystemDataset.from_paths(
            [self.storage.resolve(f.uri)[1] for f in files], schema=schema, format=ds.ParquetFileFormat(),
            filesystem=fs, partitions=partitions)
        return dataset, scan


PSEUDO_COLUMNS = (pa.field("$path", pa.string()), pa.field("$file_size", pa.int64()),
                  pa.field("$file_modified_time", pa.timestamp("us", tz="UTC")))


def _pseudo_expression(entry: FileEntry) -> ds.Expression:
    return ((ds.field("$path") == entry.uri) & (ds.field("$file_size") == pa.scalar(entry.size, pa.int64()))
            & (ds.field("$file_modified_time") == pa.scalar(entry.mtime_ns // 1000, pa.timestamp("us", tz="UTC"))))


def table_partitions(aws: AwsContext, table: TableDefinition) -> list[tuple[dict[str, str | None], list[str] | str]]:
    """(partition values, file URIs or the partition's location) per partition of a registered table."""
    return Resolver(aws).candidates(table)


def _partition_expression(table: TableDefinition, values: dict[str, str | None]) -> ds.Expression:
    expression = ds.scalar(True)
    for key in table.partition_keys:
        value = values.get(key.name)
        arrow_type = to_arrow(key.type, utc=False)
        if value is None:
            expression = expression & ds.field(key.name).is_null()
        else:
            expression = expression & (ds.field(key.name) == pa.scalar(value).cast(arrow_type))
    return expression


def prune_partitions(table: TableDefinition, candidates: list, predicate: exp.Expression | None) -> list[int]:
    """Indexes of the partitions the predicate can match, decided by DuckDB on the partition values with
    the query's own (Trino) semantics."""
    from lakeward.query import trino

    if predicate is None or not table.partition_keys:
        return list(range(len(candidates)))
    if any(_duck_type(to_hive(k.type)) == "VARCHAR" and to_hive(k.type) != "string" for k in table.partition_keys):
        return list(range(len(candidates)))  # values of this type are not compared as the query compares them
    con = duckdb.connect()
    trino.configure(con)
    columns = {k.name: [c[0].get(k.name) for c in candidates] for k in table.partition_keys}
    con.register("parts_raw", pa.table({"idx": list(range(len(candidates))), **columns}))
    casts = ", ".join(f'CAST("{k.name}" AS {_duck_type(to_hive(k.type))}) AS "{k.name}"' for k in table.partition_keys)
    con.execute(f"CREATE VIEW parts AS SELECT idx, {casts} FROM parts_raw")
    schema = {"parts": {"idx": "bigint", **{k.name: to_hive(k.type) for k in table.partition_keys}}}
    try:
        sql = trino.translate(exp.select("idx").from_("parts").where(predicate.copy()), schema).sql
        return [r[0] for r in con.execute(sql).fetchall()]
    except (duckdb.Error, QueryError):
        return list(range(len(candidates)))  # not evaluable on partition values alone: scan everything


def _duck_type(hive: str) -> str:
    return {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "date": "DATE", "timestamp": "TIMESTAMP",
            "boolean": "BOOLEAN", "tinyint": "TINYINT", "smallint": "SMALLINT"}.get(hive, "VARCHAR")

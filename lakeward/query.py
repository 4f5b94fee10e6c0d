"""Athena (Trino) SQL over tables resolved from the Glue Data Catalog, executed locally with DuckDB.

Each table in the query is looked up in Glue (location, format, schema, partitions). Conjuncts of the
WHERE clause that touch only partition columns are evaluated against the partition list first, so only
the selected partitions' files are opened (Parquet: Glue partitions; Delta: the log's add actions).
The files are exposed to DuckDB as a pyarrow dataset in the catalog's schema; the SQL is translated
from the Athena dialect by sqlglot.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import sqlglot
from sqlglot import exp

from catalog.glue import GlueCatalog
from catalog.partition_projection import is_projected
from catalog.partition_spec import HIVE_NULL
from catalog.schema import TableDefinition
from catalog.types import to_hive
from lakeward.engines.arrow_types import arrow_schema, to_arrow
from lakeward.errors import AccessDenied, QueryError
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.storage import Storage, join
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
        if not columns or conjunct.find(exp.Select) is not None:
            continue
        if all(c.name in keys and _refers_to(c, table, single) for c in columns):
            copy = conjunct.copy()
            for c in copy.find_all(exp.Column):
                c.set("table", None)
                c.set("db", None)
            kept.append(copy)
    return exp.and_(*kept) if kept else None


def _refers_to(column: exp.Column, table: exp.Table, single: bool) -> bool:
    if not column.table:
        return single
    if table.alias:
        return column.table == table.alias and not column.db
    return column.table == table.name and (not column.db or column.db == (table.db or DEFAULT_DATABASE))


class _Resolver:
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
        """(partition values, file URIs or the partition's location) per partition, from the catalog
        (Parquet) or the log (Delta)."""
        if table.format == "delta":
            dt = delta.open_table(table.location, self.aws.storage_options())
            if dt is None:
                raise QueryError(f"{table.qualified_name}: no Delta log at {table.location}")
            actions = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
            grouped: dict[tuple, list[str]] = {}
            for a in actions:
                values = tuple(a.get(f"partition.{k.name}") for k in table.partition_keys)
                grouped.setdefault(values, []).append(join(table.location, unquote(a["path"])))
            return [({k.name: None if v is None else str(v) for k, v in zip(table.partition_keys, values)}, files)
                    for values, files in grouped.items()]
        if not table.partition_keys:
            return [({}, [e.uri for e in self.storage.list_files(table.location) if e.uri.endswith(".parquet")])]
        if is_projected(table.parameters):  # Athena computes the partitions; locally, the folders tell
            return self._listed_partitions(table)
        # A Parquet partition's files are listed only if it survives pruning: its location stands in.
        return [({k.name: (None if v == HIVE_NULL else v) for k, v in zip(table.partition_keys, p.values)},
                 p.location) for p in self.glue.partitions(table.database, table.name)]

    def _listed_partitions(self, table: TableDefinition) -> list[tuple[dict[str, str | None], list[str] | str]]:
        keys = [k.name for k in table.partition_keys]
        grouped: dict[tuple, list[str]] = {}
        prefix = table.location.rstrip("/") + "/"
        for entry in self.storage.list_files(table.location):
            parts = entry.uri[len(prefix):].split("/")
            pairs = [p.partition("=") for p in parts[:-1]]
            if not entry.uri.endswith(".parquet") or [unquote(k) for k, _, _ in pairs] != keys:
                continue
            values = tuple(None if unquote(v) == HIVE_NULL else unquote(v) for _, _, v in pairs)
            grouped.setdefault(values, []).append(entry.uri)
        return [(dict(zip(keys, values)), files) for values, files in sorted(grouped.items(), key=str)]

    def dataset(self, table: TableDefinition, predicate: exp.Expression | None) -> tuple[ds.Dataset, TableScan]:
        candidates = self.candidates(table)
        selected = prune_partitions(table, candidates, predicate)
        paths, partitions = [], []
        for index in selected:
            values, files = candidates[index]
            if isinstance(files, str):
                files = [e.uri for e in self.storage.list_files(files) if e.uri.endswith(".parquet")]
            expression = _partition_expression(table, values)
            for f in files:
                paths.append(f)
                partitions.append(expression)
        schema = arrow_schema([*table.columns, *table.partition_keys], utc=False)
        if not paths:
            return ds.dataset(pa.table({f.name: pa.array([], f.type) for f in schema})), \
                TableScan(table.qualified_name, table.format, len(candidates), len(selected), 0)
        fs, _ = self.storage.resolve(paths[0])
        dataset = ds.FileSystemDataset.from_paths(
            [self.storage.resolve(p)[1] for p in paths], schema=schema, format=ds.ParquetFileFormat(),
            filesystem=fs, partitions=partitions)
        return dataset, TableScan(table.qualified_name, table.format, len(candidates), len(selected), len(paths))


def table_partitions(aws: AwsContext, table: TableDefinition) -> list[tuple[dict[str, str | None], list[str] | str]]:
    """(partition values, file URIs or the partition's location) per partition of a registered table."""
    return _Resolver(aws).candidates(table)


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
    """Indexes of the partitions the predicate can match, decided by DuckDB on the partition values."""
    if predicate is None or not table.partition_keys:
        return list(range(len(candidates)))
    con = duckdb.connect()
    columns = {k.name: [c[0].get(k.name) for c in candidates] for k in table.partition_keys}
    con.register("parts_raw", pa.table({"idx": list(range(len(candidates))), **columns}))
    casts = ", ".join(f'CAST("{k.name}" AS {_duck_type(to_hive(k.type))}) AS "{k.name}"' for k in table.partition_keys)
    con.execute(f"CREATE VIEW parts AS SELECT idx, {casts} FROM parts_raw")
    try:
        return [r[0] for r in con.execute(f"SELECT idx FROM parts WHERE {predicate.sql('duckdb')}").fetchall()]
    except duckdb.Error:
        return list(range(len(candidates)))  # not evaluable on partition values alone: scan everything


def _duck_quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _duck_type(hive: str) -> str:
    return {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "date": "DATE", "timestamp": "TIMESTAMP",
            "boolean": "BOOLEAN", "tinyint": "TINYINT", "smallint": "SMALLINT"}.get(hive, "VARCHAR")


def _check_columns(tree: exp.Expression, principal: str, forbidden: dict[str, set[str]], names: set[str]) -> None:
    """Fail, as Athena does, when the query names a column the principal cannot read (a struct field access
    customer.email names the column customer)."""
    for column in tree.find_all(exp.Column):
        parts = [p for p in (column.name, column.table, column.db) if p]
        for table, columns in forbidden.items():
            hit = next((p for p in parts if p in columns and (p == column.name or p not in names)), None)
            if hit:
                raise AccessDenied(f"{principal} cannot read column {hit} of {table} (Lake Formation: no LF-tag "
                                   "policy grant with SELECT matches its tags)")


def run_query(aws: AwsContext, sql: str, principal: str | None = None) -> QueryResult:
    try:
        tree = sqlglot.parse_one(sql, read="athena")
    except sqlglot.errors.ParseError as e:
        raise QueryError(f"cannot parse the query: {e}") from e
    resolver = _Resolver(aws)
    con = duckdb.connect()
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    scans = []
    nodes = [t for t in tree.find_all(exp.Table) if not (not t.db and t.name in ctes)]
    internal = [t.name for t in tree.find_all(exp.Table) if t.name.startswith("__lakeward")]
    if principal and internal:
        raise AccessDenied(f"{principal}: {internal[0]} is not a table of the catalog")
    tables = [resolver.table(node) for node in nodes]  # one Glue lookup per table reference
    readable: dict[int, list[str]] = {}
    if principal:
        from lakeformation.lf import LakeFormation
        from lakeward.governance.policy import table_access_for

        lf = LakeFormation(aws.client("lakeformation"))
        grants = lf.grants()
        forbidden: dict[str, set[str]] = {}
        names = {n.alias_or_name for n in nodes} | {n.name for n in nodes}
        for i, node in enumerate(nodes):
            table = tables[i]
            every = [c.name for c in (*table.columns, *table.partition_keys)]
            readable[i] = list(table_access_for(lf, principal, grants, table.database, table.name, every).readable)
            if not readable[i]:
                raise AccessDenied(f"{principal} cannot read table {table.qualified_name} (Lake Formation: no "
                                   "LF-tag policy grant with SELECT matches any of its columns)")
            forbidden[table.qualified_name] = set(every) - set(readable[i])
        _check_columns(tree, principal, forbidden, names)
    for i, node in enumerate(nodes):
        table = tables[i]
        keys = {k.name for k in table.partition_keys}
        dataset, scan = resolver.dataset(table, partition_predicate(node, keys))
        scans.append(scan)
        view = f"__lakeward_{i}"
        if principal:  # only the readable columns exist for the query (SELECT * shows those)
            con.from_arrow(dataset).project(", ".join(_duck_quoted(c) for c in readable[i])).create_view(view)
        else:
            con.register(view, dataset)
        replacement = exp.to_table(view)
        alias = node.args.get("alias")
        replacement.set("alias", alias.copy() if alias else exp.TableAlias(this=exp.to_identifier(node.name)))
        if not alias:  # db.table.column references now go through the alias, which is the table name
            for column in tree.find_all(exp.Column):
                if column.table == node.name and column.db in ("", node.db or DEFAULT_DATABASE):
                    column.set("db", None)
        node.replace(replacement)
    if principal:  # nothing but the projected views: no files, no extensions
        con.execute("SET enable_external_access = false")
    try:
        cursor = con.execute(tree.sql("duckdb"))
        columns = [d[0] for d in cursor.description]
        return QueryResult(columns, cursor.fetchall(), scans)
    except duckdb.Error as e:
        raise QueryError(f"query failed: {e}") from e

"""Athena (Trino) SQL over tables resolved from the Glue Data Catalog, executed locally with DuckDB.

Each table in the query is looked up in Glue and exposed as a view over the files of the partitions the
query can match (see tables.py); metadata statements and information_schema are answered from the catalog
(metadata.py); the SQL is translated with Trino's semantics (trino.py).
"""
from __future__ import annotations

import dataclasses

import duckdb
import pyarrow as pa
from sqlglot import exp

from catalog.schema import TableDefinition
from catalog.types import to_hive
from lakeward.errors import AccessDenied, QueryError
from lakeward.query import metadata, trino
from lakeward.query.tables import (DEFAULT_DATABASE, PSEUDO_COLUMNS, QueryResult, Resolver, TableScan,
                                   partition_predicate)
from lakeward.runtime.aws import AwsContext

_PSEUDO = {f.name for f in PSEUDO_COLUMNS}
_PSEUDO_TYPES = {"$path": "string", "$file_size": "bigint", "$file_modified_time": "timestamp"}
_QUERIES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Values)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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


class _Access:
    """What a principal may read, decided from the LF-tags and grants Lake Formation holds."""

    def __init__(self, aws: AwsContext, principal: str):
        from lakeformation.lf import LakeFormation

        self.principal = principal
        self.lf = LakeFormation(aws.client("lakeformation"))
        self.grants = self.lf.grants()

    def readable(self, table: TableDefinition) -> list[str]:
        from lakeward.governance.policy import table_access_for

        every = [c.name for c in (*table.columns, *table.partition_keys)]
        return list(table_access_for(self.lf, self.principal, self.grants, table.database, table.name,
                                     every).readable)

    def visible(self, table: TableDefinition) -> TableDefinition | None:
        """The table with only the columns the principal can read (None: none)."""
        allowed = set(self.readable(table))
        if not allowed:
            return None
        return dataclasses.replace(table, columns=tuple(c for c in table.columns if c.name in allowed),
                                   partition_keys=tuple(c for c in table.partition_keys if c.name in allowed))

    def check(self, tree: exp.Expression, nodes: list[exp.Table], tables: list[TableDefinition]) -> list[list[str]]:
        forbidden: dict[str, set[str]] = {}
        readable = []
        for table in tables:
            allowed = self.readable(table)
            if not allowed:
                raise AccessDenied(f"{self.principal} cannot read table {table.qualified_name} (Lake Formation: "
                                   "no LF-tag policy grant with SELECT matches any of its columns)")
            forbidden[table.qualified_name] = {c.name for c in (*table.columns, *table.partition_keys)} - set(allowed)
            readable.append(allowed)
        names = {n.alias_or_name for n in nodes} | {n.name for n in nodes}
        _check_columns(tree, self.principal, forbidden, names)
        return readable


def _replace(tree: exp.Expression, node: exp.Table, view: str) -> None:
    replacement = exp.to_table(view)
    if node.args.get("version") is not None:
        raise QueryError(f"time travel ({node.args['version'].sql('athena')}) is not supported locally")
    if node.args.get("sample") is not None:
        replacement.set("sample", node.args["sample"].copy())
    alias = node.args.get("alias")
    replacement.set("alias", alias.copy() if alias else exp.TableAlias(this=exp.to_identifier(node.name)))
    if not alias:  # db.table.column references now go through the alias, which is the table name
        for column in tree.find_all(exp.Column):
            if column.table == node.name and column.db in ("", node.db or DEFAULT_DATABASE):
                column.set("db", None)
    node.replace(replacement)


def run_local(aws: AwsContext, sql: str, principal: str | None = None) -> QueryResult:
    resolver = Resolver(aws)
    access = _Access(aws, principal) if principal else None
    visible = access.visible if access else metadata.everything
    statement = metadata.metadata_statement(sql)
    if statement is not None:
        return metadata.answer(resolver, *statement, visible)
    tree = trino.parse(sql)
    query = tree.this if isinstance(tree, exp.Subquery) else tree
    if not isinstance(query, _QUERIES):
        first = sql.split(None, 1)[0] if sql.strip() else ""
        raise QueryError(f"only queries (SELECT, WITH, VALUES) and metadata statements run locally; this "
                         f"statement starts with {first!r}")
    con = duckdb.connect()
    trino.configure(con)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    every = [t for t in tree.find_all(exp.Table) if not (not t.db and t.name in ctes)]
    if principal and any(t.name.startswith("__lakeward") for t in every):
        raise AccessDenied(f"{principal}: {next(t.name for t in every if t.name.startswith('__lakeward'))} "
                           "is not a table of the catalog")
    schema: dict[str, dict[str, str]] = {}
    for i, node in enumerate([t for t in every if t.db.lower() == "information_schema"]):
        view = f"__lakeward_information_{i}"
        rows = metadata.information_schema(resolver, node.name.lower(), visible)
        con.register(view, rows)
        schema[view] = {f.name: "string" if pa.types.is_string(f.type) else "bigint" for f in rows.schema}
        _replace(tree, node, view)
    nodes = [t for t in every if t.db.lower() != "information_schema"]
    tables = [resolver.table(node) for node in nodes]  # one Glue lookup per table reference
    readable = access.check(tree, nodes, tables) if access else None
    pseudo = any(c.name in _PSEUDO for c in tree.find_all(exp.Column))
    if pseudo and readable and any(k.name not in allowed for table, allowed in zip(tables, readable)
                                   for k in table.partition_keys):
        raise AccessDenied(f"{principal}: \"$path\" would show partition values Lake Formation hides")
    scans: list[TableScan] = []
    for i, (node, table) in enumerate(zip(nodes, tables)):
        dataset, scan = resolver.dataset(table, partition_predicate(node, {k.name for k in table.partition_keys}),
                                         pseudo)
        scans.append(scan)
        view = f"__lakeward_{i}"
        con.register(f"{view}_files", dataset)
        columns = {c.name: to_hive(c.type) for c in (*table.columns, *table.partition_keys)}
        shown = readable[i] if readable else list(columns)
        if pseudo:
            shown += list(_PSEUDO)
            columns.update(_PSEUDO_TYPES)
        projection = ", ".join(f"CAST({_quoted(c)} AS TIMESTAMP) AS {_quoted(c)}"
                               if columns[c] == "timestamp" else _quoted(c) for c in shown)
        con.execute(f"CREATE VIEW {view} AS SELECT {projection} FROM {view}_files")
        schema[view] = {c: columns[c] for c in shown}
        _replace(tree, node, view)
    if principal:  # nothing but the projected views: no files, no extensions
        con.execute("SET enable_external_access = false")
    translation = trino.translate(tree, schema)
    try:
        cursor = con.execute(translation.sql)
        columns = [d[0] for d in cursor.description]
        return QueryResult(columns, cursor.fetchall(), scans, translation.notes)
    except duckdb.Error as e:
        raise QueryError(f"query failed: {str(e).splitlines()[0]}") from e


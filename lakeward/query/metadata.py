"""Athena's metadata statements answered from the Glue Data Catalog (never from the local engine's own
catalog): SHOW DATABASES|SCHEMAS, SHOW TABLES, SHOW COLUMNS, DESCRIBE, SHOW PARTITIONS, SHOW CREATE TABLE,
and the rows of information_schema.schemata|tables|columns."""
from __future__ import annotations

import re
from collections.abc import Callable

import pyarrow as pa

from catalog.athena_ddl import create_table_ddl
from catalog.partition_spec import HIVE_NULL
from catalog.schema import TableDefinition
from catalog.types import to_hive, to_trino
from lakeward.errors import AccessDenied, QueryError
from lakeward.query.tables import DEFAULT_DATABASE, QueryResult, Resolver

CATALOG_NAME = "awsdatacatalog"
_NAME = r"(?:`[^`]+`|\"[^\"]+\"|[\w$]+)"
_TABLE = rf"(?P<table>{_NAME}(?:\.{_NAME})?)"
_PATTERN = r"(?:\s+(?:LIKE\s+)?'(?P<pattern>[^']*)')?"
_STATEMENTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"SHOW\s+(?:DATABASES|SCHEMAS){_PATTERN}", re.I), "databases"),
    (re.compile(rf"SHOW\s+TABLES(?:\s+(?:IN|FROM)\s+(?P<database>{_NAME}))?{_PATTERN}", re.I), "tables"),
    (re.compile(rf"SHOW\s+COLUMNS\s+(?:IN|FROM)\s+{_TABLE}(?:\s+(?:IN|FROM)\s+(?P<database>{_NAME}))?", re.I),
     "columns"),
    (re.compile(rf"(?:DESCRIBE|DESC)\s+{_TABLE}", re.I), "describe"),
    (re.compile(rf"SHOW\s+PARTITIONS\s+{_TABLE}", re.I), "partitions"),
    (re.compile(rf"SHOW\s+CREATE\s+TABLE\s+{_TABLE}", re.I), "create"),
]


def _unquote(name: str) -> str:
    """Athena's catalog names are lower case, quoted or not."""
    return (name[1:-1] if name[:1] in "`\"" else name).lower()


def hive_like(pattern: str | None) -> Callable[[str], bool]:
    """Athena's SHOW pattern: '*' or '.*' matches any characters, '|' separates alternatives,
    case-insensitive."""
    if pattern is None:
        return lambda _: True
    regex = "|".join(".*".join(re.escape(p) for p in alt.strip().replace(".*", "*").split("*"))
                     for alt in pattern.split("|"))
    compiled = re.compile(regex, re.I)
    return lambda name: compiled.fullmatch(name) is not None


def metadata_statement(sql: str) -> tuple[str, re.Match[str]] | None:
    text = sql.strip().rstrip(";").strip()
    for pattern, kind in _STATEMENTS:
        found = pattern.fullmatch(text)
        if found:
            return kind, found
    if re.match(r"(SHOW|DESCRIBE|DESC)\s", text, re.I):
        raise QueryError(f"metadata statement not supported locally: {text.split(None, 2)[:2]}; supported: "
                         "SHOW DATABASES|SCHEMAS, SHOW TABLES, SHOW COLUMNS, DESCRIBE, SHOW PARTITIONS, "
                         "SHOW CREATE TABLE")
    return None


Visible = Callable[[TableDefinition], "TableDefinition | None"]  # the table as a principal sees it


def everything(table: TableDefinition) -> TableDefinition:
    """What a query without a principal sees."""
    return table


def answer(resolver: Resolver, kind: str, found: re.Match[str], visible: Visible = everything) -> QueryResult:
    groups = found.groupdict()
    if kind == "databases":
        matches = hive_like(groups.get("pattern"))
        return QueryResult(["database_name"], [(n,) for n in sorted(resolver.glue.databases()) if matches(n)])
    if kind == "tables":
        database = _unquote(groups["database"]) if groups.get("database") else DEFAULT_DATABASE
        matches = hive_like(groups.get("pattern"))
        names = sorted(t.definition.name for t in resolver.glue.tables(database)
                       if matches(t.definition.name) and visible(t.definition) is not None)
        return QueryResult(["tab_name"], [(n,) for n in names])
    whole = _table(resolver, groups["table"], groups.get("database"))
    table = visible(whole)
    if table is None:
        raise AccessDenied(f"cannot read table {whole.qualified_name} (Lake Formation: no LF-tag policy grant "
                           "with SELECT matches any of its columns)")
    if kind in ("partitions", "create") and table != whole:  # values and projection settings would show it
        raise AccessDenied(f"SHOW {'PARTITIONS' if kind == 'partitions' else 'CREATE TABLE'} "
                           f"{table.qualified_name} needs every column readable (Lake Formation hides some)")
    if kind == "columns":
        return QueryResult(["field"], [(c.name,) for c in (*table.columns, *table.partition_keys)])
    if kind == "describe":
        return _describe(table)
    if kind == "partitions":
        return QueryResult(["partition"], [(_partition_name(table, values),) for values in
                                           sorted(_partition_values(resolver, table), key=str)])
    return QueryResult(["createtab_stmt"], [(line,) for line in create_table_ddl(table).splitlines()])


def _table(resolver: Resolver, text: str, database: str | None) -> TableDefinition:
    parts = re.findall(_NAME, text)
    names = [_unquote(p) for p in parts]
    if len(names) == 1:
        names.insert(0, _unquote(database) if database else DEFAULT_DATABASE)
    found = resolver.glue.load_table(names[0], names[1])
    if found is None:
        raise QueryError(f"table {names[0]}.{names[1]} is not in the Glue Data Catalog")
    return found.definition


def _describe(table: TableDefinition) -> QueryResult:
    rows = [(c.name, to_hive(c.type), c.comment or "") for c in (*table.columns, *table.partition_keys)]
    if table.partition_keys:
        rows += [("", "", ""), ("# Partition Information", "", ""), ("# col_name", "data_type", "comment"),
                 ("", "", "")]
        rows += [(c.name, to_hive(c.type), c.comment or "") for c in table.partition_keys]
    return QueryResult(["col_name", "data_type", "comment"], rows)


def _partition_values(resolver: Resolver, table: TableDefinition) -> list[tuple[str | None, ...]]:
    if not table.partition_keys:
        raise QueryError(f"{table.qualified_name} is not partitioned")
    if table.format == "parquet":  # Athena lists the partitions registered in Glue (none when projected)
        return [tuple(None if v == HIVE_NULL else v for v in p.values)
                for p in resolver.glue.partitions(table.database, table.name)]
    return [tuple(values.get(k.name) for k in table.partition_keys) for values, _ in resolver.entries(table)]


def _partition_name(table: TableDefinition, values: tuple[str | None, ...]) -> str:
    from lakeward.tables.writer import escape_path_name

    return "/".join(f"{k.name}={escape_path_name(HIVE_NULL if v is None else v)}"
                    for k, v in zip(table.partition_keys, values))


def information_schema(resolver: Resolver, name: str, visible: Visible = everything) -> pa.Table:
    """The rows of information_schema.schemata, .tables or .columns, from the catalog."""
    databases = sorted(resolver.glue.databases())
    if name == "schemata":
        return pa.table({"catalog_name": [CATALOG_NAME] * (len(databases) + 1),
                         "schema_name": ["information_schema", *databases]})
    tables = [shown for db in databases for t in resolver.glue.tables(db)
              if (shown := visible(t.definition)) is not None]
    if name == "tables":
        return pa.table({"table_catalog": [CATALOG_NAME] * len(tables),
                         "table_schema": [t.database for t in tables], "table_name": [t.name for t in tables],
                         "table_type": ["BASE TABLE"] * len(tables)})
    if name == "columns":
        rows = [(t, i + 1, c, c in t.partition_keys) for t in tables
                for i, c in enumerate((*t.columns, *t.partition_keys))]
        return pa.table({
            "table_catalog": [CATALOG_NAME] * len(rows), "table_schema": [t.database for t, *_ in rows],
            "table_name": [t.name for t, *_ in rows], "column_name": [c.name for _, _, c, _ in rows],
            "ordinal_position": pa.array([i for _, i, _, _ in rows], pa.int64()),
            "column_default": pa.array([None] * len(rows), pa.string()),
            "is_nullable": ["YES"] * len(rows), "data_type": [to_trino(c.type) for _, _, c, _ in rows],
            "comment": pa.array([c.comment for _, _, c, _ in rows], pa.string()),
            "extra_info": pa.array(["partition key" if p else None for *_, p in rows], pa.string())})
    raise QueryError(f"information_schema.{name} is not available locally (schemata, tables, columns are)")

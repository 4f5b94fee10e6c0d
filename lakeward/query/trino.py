"""Athena (Trino) SQL as DuckDB SQL, with Trino's semantics where the two engines differ.

sqlglot translates the syntax. This module corrects what sqlglot leaves with DuckDB's meaning, and refuses
what it cannot translate faithfully: a wrong answer is worse than an error. What differs, and how:

- integer / integer truncates (DuckDB's ``integer_division`` setting); the session time zone is UTC;
- ``date_diff`` counts whole units elapsed (DuckDB's ``date_sub``), not boundaries crossed;
- a CAST of a double to an integer rounds half away from zero, and of text to an integer refuses a fraction;
- date +/- an interval of days or more stays a date;
- ``ts AT TIME ZONE z`` converts a UTC wall time into z (DuckDB would read it as z's wall time);
- Joda patterns (format_datetime, parse_datetime), MySQL ``%v``, ``$1`` in regexp_replace replacements,
  json_extract_scalar of an object or array (NULL), json_array_length of a non-array (NULL), reduce's
  output function;
- a function sqlglot does not know is run only if DuckDB's function of that name means the same.

Types come from the catalog through sqlglot's type annotation; where a query cannot be qualified (an
unusual construct), the type-dependent rules above are skipped and said so in ``Translation.notes``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, OptimizeError, SqlglotError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify_columns import qualify_columns
from sqlglot.schema import MappingSchema

from lakeward.errors import QueryError
from lakeward.query import trino_functions as functions
from lakeward.query import trino_values as values

SESSION = ("SET integer_division = true", "SET TimeZone = 'UTC'")


@dataclass
class Translation:
    sql: str
    notes: list[str] = field(default_factory=list)


def configure(con: duckdb.DuckDBPyConnection) -> None:
    """Session settings that give DuckDB Trino's arithmetic and Athena's (UTC) session zone."""
    for statement in SESSION:
        con.execute(statement)


def translate(tree: exp.Expression, schema: dict[str, dict[str, str]] | None = None) -> Translation:
    """DuckDB SQL for a parsed Athena statement; ``schema`` maps each relation to its columns' Hive types."""
    notes: list[str] = []
    _name_like_athena(tree)
    typed = _annotated(tree, schema or {}, notes)
    typed = _bottom_up(typed, _rewrite)
    try:
        return Translation(typed.sql("duckdb", unsupported_level=ErrorLevel.RAISE), notes)
    except UnsupportedError as e:
        raise QueryError(f"not translated faithfully for the local engine: {e}") from e


def _name_like_athena(tree: exp.Expression) -> None:
    """Athena names an unaliased expression column _col0, _col1, ... by position. Derived tables Trino
    lets go unnamed get a name, so that their columns' types can be inferred through them."""
    for select in tree.find_all(exp.Select):
        for i, projection in enumerate(select.expressions):
            if not isinstance(projection, (exp.Alias, exp.Column, exp.Star, exp.Dot)):
                projection.replace(exp.alias_(projection.copy(), f"_col{i}"))
    for i, derived in enumerate(tree.find_all(exp.Subquery)):
        if isinstance(derived.parent, (exp.From, exp.Join)) and not derived.alias:
            derived.set("alias", exp.TableAlias(this=exp.to_identifier(f"__lw_derived_{i}")))


def _annotated(tree: exp.Expression, schema: dict[str, dict[str, str]], notes: list[str]) -> exp.Expression:
    mapping = MappingSchema(schema, dialect="hive") if schema else None
    try:
        qualified = qualify_columns(tree.copy(), mapping or MappingSchema(), expand_stars=False,
                                    allow_partial_qualification=True, dialect="athena")
        return annotate_types(qualified, schema=mapping, dialect="athena")
    except (OptimizeError, SqlglotError, KeyError, ValueError) as e:
        notes.append(f"types not inferred ({e}); casts and date arithmetic follow DuckDB")
        return tree


def _bottom_up(root: exp.Expression, rewrite) -> exp.Expression:
    """Rewrite every node after its descendants (a replaced node's arguments are rewritten too)."""
    for node in reversed(list(root.walk(bfs=False))):
        parent, key, index = node.parent, node.arg_key, node.index
        new = rewrite(node)
        if new is not node:
            if new.type is None or new.type.this == exp.DataType.Type.UNKNOWN:
                new.type = node.type  # the replacement means the same value
            if node is root:
                root = new
            else:
                parent.set(key, new, index)
    return root


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous):
        return functions.anonymous(node)
    handler = _HANDLERS.get(type(node))
    return handler(node) if handler else node


_HANDLERS = {
    exp.ParseDatetime: functions.parse_datetime,
    exp.TimeToStr: functions.mysql_format,
    exp.StrToTime: functions.mysql_format,
    exp.JSONExtractScalar: functions.json_scalar,
    exp.RegexpReplace: functions.regexp_replace,
    exp.Reduce: functions.reduce,
    exp.DateDiff: functions.date_diff,
    exp.Unnest: functions.unnest_rows,
    exp.Typeof: functions.typeof,
    exp.Substring: functions.substring,
    exp.SplitPart: functions.split_part,
    exp.RegexpExtract: functions.regexp_extract,
    exp.ArraySlice: functions.array_slice,
    exp.ArrayMax: functions.array_extreme,
    exp.ArrayMin: functions.array_extreme,
    exp.ArrayDistinct: functions.array_distinct,
    exp.Cast: values.cast,
    exp.TryCast: values.cast,
    exp.Add: values.date_interval,
    exp.Sub: values.date_interval,
    exp.DateAdd: values.date_add,
    exp.AtTimeZone: values.at_time_zone,
    exp.Div: values.div,
    exp.Avg: values.avg,
}


def parse(sql: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(sql, read="athena")
    except sqlglot.errors.ParseError as e:
        first = e.errors[0] if e.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first.get("line") else ""
        near = f" (near {first['highlight']!r})" if first.get("highlight") else ""
        raise QueryError(f"cannot parse the query: {first.get('description', str(e).splitlines()[0])}"
                         f"{where}{near}") from e

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

import re
from dataclasses import dataclass, field

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, OptimizeError, SqlglotError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify_columns import qualify_columns
from sqlglot.schema import MappingSchema

from lakeward.errors import QueryError
from lakeward.query.joda import joda_to_strftime

SESSION = ("SET integer_division = true", "SET TimeZone = 'UTC'")

# Functions sqlglot does not model whose DuckDB namesake takes the same arguments and gives the same result.
SAME_IN_DUCKDB = frozenset({"map_values", "levenshtein_distance"})
_RENAMED = {"codepoint": "unicode", "is_finite": "isfinite"}
_INTEGERS = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT,
             exp.DataType.Type.BIGINT}
_FLOATS = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}
_TEXT = {exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR, exp.DataType.Type.TEXT}
_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


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
    """Athena names an unaliased expression column _col0, _col1, ... by position."""
    for select in tree.find_all(exp.Select):
        for i, projection in enumerate(select.expressions):
            if not isinstance(projection, (exp.Alias, exp.Column, exp.Star, exp.Dot)):
                projection.replace(exp.alias_(projection.copy(), f"_col{i}"))


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


def _duck(template: str, *args: exp.Expression) -> exp.Expression:
    """A DuckDB expression from SQL text in which __0, __1, ... stand for the given expressions."""
    tree = sqlglot.parse_one(template, read="duckdb")
    for column in list(tree.find_all(exp.Column)):
        found = re.fullmatch(r"__(\d+)", column.name)
        if found and not column.table:
            column.replace(args[int(found.group(1))].copy())
    return tree


def _type(node: exp.Expression | None) -> exp.DataType.Type | None:
    kind = node.type.this if node is not None and node.type is not None else None
    return None if kind in (None, exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL) else kind


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous):
        return _function(node)
    handler = _HANDLERS.get(type(node))
    return handler(node) if handler else node


def _function(node: exp.Anonymous) -> exp.Expression:
    name = node.name.lower()
    args = node.expressions
    if name == "format_datetime" and len(args) == 2:
        return exp.Anonymous(this="STRFTIME", expressions=[args[0], _literal_format(args[1], name, False)])
    if name == "json_array_length" and len(args) == 1:
        return exp.Case(ifs=[exp.If(this=exp.EQ(this=exp.Anonymous(this="JSON_TYPE", expressions=[args[0].copy()]),
                                                expression=exp.Literal.string("ARRAY")),
                                    true=exp.Anonymous(this="JSON_ARRAY_LENGTH", expressions=[args[0]]))])
    if name in _RENAMED:
        return exp.Anonymous(this=_RENAMED[name].upper(), expressions=args)
    if name in SAME_IN_DUCKDB:
        return node
    raise QueryError(f"the Trino function {name}() has no local translation (run it with --engine athena)")


def _literal_format(arg: exp.Expression, function: str, parsing: bool) -> exp.Literal:
    if not (isinstance(arg, exp.Literal) and arg.is_string):
        raise QueryError(f"{function}(): the pattern must be a string literal locally, got {arg.sql('athena')}")
    return exp.Literal.string(joda_to_strftime(arg.this, parsing))


def _parse_datetime(node: exp.ParseDatetime) -> exp.Expression:
    return exp.Anonymous(this="STRPTIME", expressions=[node.this, _literal_format(node.args.get("format"),
                                                                                 "parse_datetime", True)])


def _mysql_format(node: exp.Expression) -> exp.Expression:
    fmt = node.args.get("format")
    if isinstance(fmt, exp.Literal) and "%v" in fmt.this:
        node.set("format", exp.Literal.string(fmt.this.replace("%v", "%V")))
    return node


def _json_scalar(node: exp.JSONExtractScalar) -> exp.Expression:
    kind = exp.Anonymous(this="JSON_TYPE", expressions=[node.this.copy(), node.expression.copy()])
    return exp.Case(ifs=[exp.If(this=exp.In(this=kind, expressions=[exp.Literal.string("OBJECT"),
                                                                  exp.Literal.string("ARRAY")]),
                                true=exp.null())], default=node)


def _regexp_replace(node: exp.RegexpReplace) -> exp.Expression:
    replacement = node.args.get("replacement")
    if replacement is None:
        return node
    if not (isinstance(replacement, exp.Literal) and replacement.is_string):
        raise QueryError("regexp_replace(): the replacement must be a string literal locally "
                         f"(got {replacement.sql('athena')})")
    text = replacement.this
    if re.search(r"\$\{", text):
        raise QueryError(f"regexp_replace(): named group references ({text!r}) have no local translation")
    converted = re.sub(r"\\\$|\$(\d)", lambda m: "$" if m.group(0) == "\\$" else "\\" + m.group(1), text)
    node.set("replacement", exp.Literal.string(converted))
    return node


def _reduce(node: exp.Reduce) -> exp.Expression:
    finish = node.args.get("finish")
    if finish is None:
        return node
    node.set("finish", None)
    if not isinstance(finish, exp.Lambda) or len(finish.expressions) != 1:
        raise QueryError("reduce(): the output function must be a one-argument lambda")
    parameter = finish.expressions[0].name
    body = finish.this.copy()
    return body.transform(lambda n: node.copy() if isinstance(n, (exp.Identifier, exp.Column))
                          and n.name == parameter and not isinstance(n.parent, exp.Column) else n)


def _date_diff(node: exp.DateDiff) -> exp.Expression:
    unit = node.args.get("unit")
    unit_text = (unit.name if unit is not None else "DAY").upper()
    return exp.Anonymous(this="DATE_SUB", expressions=[exp.Literal.string(unit_text), node.expression, node.this])


def _cast(node: exp.Cast) -> exp.Expression:
    target, source = node.to.this, _type(node.this)
    if target in _TEXT:
        return _cast_to_text(node, source)
    if target not in _INTEGERS or source in _INTEGERS or source == exp.DataType.Type.DECIMAL:
        return node  # DuckDB rounds decimals half away from zero, as Trino does
    to, lenient = node.to.sql("duckdb"), isinstance(node, exp.TryCast)
    refusal = "NULL" if lenient else (
        "ERROR('Cannot cast ''' || CAST(__0 AS VARCHAR) || ''' to " + node.to.sql("athena") + "')")
    rounded = f"CAST(ROUND(TRY_CAST(__0 AS DOUBLE)) AS {to})"
    whole = "REGEXP_MATCHES(TRIM(CAST(__0 AS VARCHAR)), '^[+-]?[0-9]+$')"
    plain = f"{'TRY_CAST' if lenient else 'CAST'}(__0 AS {to})"
    if source in _FLOATS:
        return _duck(rounded, node.this)
    if source in _TEXT:
        return _duck(f"CASE WHEN {whole} THEN {plain} ELSE {refusal} END", node.this)
    return _duck(f"CASE WHEN TYPEOF(__0) IN ('DOUBLE', 'FLOAT') THEN {rounded} "
                 f"WHEN TYPEOF(__0) = 'VARCHAR' AND NOT {whole} THEN {refusal} ELSE {plain} END", node.this)


def _cast_to_text(node: exp.Cast, source: exp.DataType.Type | None) -> exp.Expression:
    """Trino writes a timestamp with milliseconds, and a double outside [1e-3, 1e7) in Java's E notation,
    which DuckDB does not: the first is formatted, the second refused where it occurs."""
    if source == exp.DataType.Type.TIMESTAMP:
        return _duck("STRFTIME(__0, '%Y-%m-%d %H:%M:%S.%g')", node.this)
    if source in _FLOATS:
        return _duck("CASE WHEN ABS(__0) >= 1e7 OR (ABS(__0) < 1e-3 AND __0 <> 0) THEN ERROR('CAST of ' || "
                     "CAST(__0 AS VARCHAR) || ' to varchar: Athena writes it in E notation, which has no local "
                     "translation') ELSE CAST(__0 AS VARCHAR) END", node.this)
    return node


def _is_date(node: exp.Expression | None) -> bool:
    return _type(node) == exp.DataType.Type.DATE


def _refuse_sub_day(node: exp.Expression) -> None:
    raise QueryError(f"{node.sql('athena')}: Athena cannot add hours, minutes or seconds to a date")


def _date_interval(node: exp.Add | exp.Sub) -> exp.Expression:
    if isinstance(node.expression, exp.Interval):
        operand, interval = node.this, node.expression
    elif isinstance(node, exp.Add) and isinstance(node.this, exp.Interval):
        operand, interval = node.expression, node.this
    else:
        return node
    if not _is_date(operand):
        return node
    unit = interval.args.get("unit")
    if unit is None or unit.name.upper().rstrip("S") not in _DATE_UNITS:
        _refuse_sub_day(node)
    return exp.cast(node, "DATE")


def _date_add(node: exp.DateAdd) -> exp.Expression:
    unit = node.args.get("unit")
    if not _is_date(node.this):
        return node
    if unit is None or unit.name.upper() not in _DATE_UNITS:
        _refuse_sub_day(node)
    return exp.cast(node, "DATE")


def _unnest_rows(node: exp.Unnest) -> exp.Expression:
    """Trino expands an array of rows into one column per field (UNNEST(items) AS i(sku, qty)); DuckDB
    gives one struct column, expanded here by a lateral subquery."""
    alias = node.args.get("alias")
    columns = alias.columns if alias is not None else []
    if len(node.expressions) != 1 or len(columns) < 2 or isinstance(node.parent, exp.Select):
        return node
    offset = node.args.get("offset")
    ordinality = isinstance(offset, exp.Expression)
    inner = sqlglot.parse_one(
        "SELECT UNNEST(__lw_e)" + (", __lw_n" if ordinality else "") + " FROM UNNEST(__lw_array)"
        + (" WITH ORDINALITY" if ordinality else "") + " AS __lw_u(__lw_e" + (", __lw_n)" if ordinality else ")"),
        read="duckdb")
    next(c for c in inner.find_all(exp.Column) if c.name == "__lw_array").replace(node.expressions[0])
    names = [c.copy() for c in columns] + ([offset.copy()] if ordinality else [])
    return exp.Subquery(this=inner, alias=exp.TableAlias(this=alias.this.copy(), columns=names))


def _at_time_zone(node: exp.AtTimeZone) -> exp.Expression:
    """The result is the wall time in the zone, without the zone: right as a column shown or cast to text,
    date or timestamp; wrong in arithmetic or comparisons, so refused there."""
    parent = node.parent
    shown = isinstance(parent, exp.Select) or (isinstance(parent, exp.Alias) and isinstance(parent.parent, exp.Select))
    if not (shown or (isinstance(parent, exp.Cast) and parent.to.this not in _TEXT)):
        raise QueryError(f"{node.sql('athena')}: a value with a time zone is supported locally only as a "
                         "selected column or inside a CAST to date or timestamp")
    return exp.Anonymous(this="TIMEZONE", expressions=[node.args["zone"], exp.cast(node.this, "TIMESTAMPTZ")])


def _typeof(node: exp.Expression) -> exp.Expression:
    raise QueryError("typeof(): DuckDB's type names are not Athena's; it has no local translation")


def _substring(node: exp.Substring) -> exp.Expression:
    start = node.args.get("start")
    return node if start is None else _duck("CASE WHEN __1 = 0 THEN '' ELSE __0 END", node, start)


def _split_part(node: exp.SplitPart) -> exp.Expression:
    delimiter, index = node.args.get("delimiter"), node.args.get("part_index")
    if delimiter is None or index is None:
        return node
    return _duck("CASE WHEN __1 > LEN(STRING_SPLIT(__2, __3)) THEN NULL ELSE __0 END", node, index, node.this,
                 delimiter)


def _regexp_extract(node: exp.RegexpExtract) -> exp.Expression:
    return _duck("CASE WHEN REGEXP_MATCHES(__1, __2) THEN __0 END", node, node.this, node.expression)


def _array_slice(node: exp.ArraySlice) -> exp.Expression:
    """Trino's slice(array, start, length); DuckDB's list_slice takes an end."""
    start, length = node.args.get("start"), node.args.get("end")
    if length is None:
        raise QueryError("slice(): needs a start and a length")
    first = "CASE WHEN __1 < 0 THEN LEN(__0) + __1 + 1 ELSE __1 END"
    return _duck(f"LIST_SLICE(__0, {first}, {first} + __2 - 1)", node.this, start, length)


def _array_extreme(node: exp.Expression) -> exp.Expression:
    """array_max/array_min are NULL when the array holds a NULL."""
    return _duck("CASE WHEN LIST_CONTAINS(LIST_TRANSFORM(__1, LAMBDA x: x IS NULL), TRUE) THEN NULL ELSE __0 END",
                 node, node.this)


def _array_distinct(node: exp.ArrayDistinct) -> exp.Expression:
    """First occurrences in order, one NULL kept (DuckDB's list_distinct drops NULLs and reorders)."""
    return _duck("LIST_FILTER(__0, LAMBDA x, i: LIST_POSITION(__0, x) = i)", node.this)


def _scale(node: exp.Expression) -> int | None:
    """The decimal scale Trino gives an operand (a literal 1.25 is decimal(3,2)); None if not a decimal."""
    if isinstance(node, exp.Literal) and not node.is_string and "." in node.this and "e" not in node.this.lower():
        return len(node.this.split(".")[1])
    if _type(node) == exp.DataType.Type.DECIMAL:
        params = node.type.expressions
        return int(params[1].this.this) if len(params) > 1 else 0
    return None


def _div(node: exp.Div) -> exp.Expression:
    """decimal / decimal (or integer) is a decimal with the larger scale, rounded half up."""
    operands = (node.this, node.expression)
    scales = [_scale(n) for n in operands]
    if all(s is None for s in scales) or any(s is None and _type(n) not in _INTEGERS for s, n in zip(scales, operands)):
        return node
    scale = max(s or 0 for s in scales)
    return _duck(f"CAST(ROUND(CAST(__0 AS DOUBLE) / __1, {scale}) AS DECIMAL(38, {scale}))", *operands)


def _avg(node: exp.Avg) -> exp.Expression:
    scale = _scale(node.this) if _type(node.this) == exp.DataType.Type.DECIMAL else None
    return node if scale is None else _duck(f"CAST(ROUND(__0, {scale}) AS DECIMAL(38, {scale}))", node)


_HANDLERS = {
    exp.ParseDatetime: _parse_datetime,
    exp.TimeToStr: _mysql_format,
    exp.StrToTime: _mysql_format,
    exp.JSONExtractScalar: _json_scalar,
    exp.RegexpReplace: _regexp_replace,
    exp.Reduce: _reduce,
    exp.DateDiff: _date_diff,
    exp.Cast: _cast,
    exp.TryCast: _cast,
    exp.Add: _date_interval,
    exp.Sub: _date_interval,
    exp.DateAdd: _date_add,
    exp.AtTimeZone: _at_time_zone,
    exp.Unnest: _unnest_rows,
    exp.Typeof: _typeof,
    exp.Substring: _substring,
    exp.SplitPart: _split_part,
    exp.RegexpExtract: _regexp_extract,
    exp.ArraySlice: _array_slice,
    exp.ArrayMax: _array_extreme,
    exp.ArrayMin: _array_extreme,
    exp.ArrayDistinct: _array_distinct,
    exp.Div: _div,
    exp.Avg: _avg,
}


def parse(sql: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(sql, read="athena")
    except sqlglot.errors.ParseError as e:
        raise QueryError(f"cannot parse the query: {e}") from e

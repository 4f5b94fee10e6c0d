"""Trino functions whose DuckDB translation by sqlglot means something else, corrected or refused."""
from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from lakeward.errors import QueryError
from lakeward.query.joda import joda_to_strftime
from lakeward.query.trino_sql import duck

# Functions sqlglot does not model whose DuckDB namesake takes the same arguments and gives the same result.
SAME_IN_DUCKDB = frozenset({"map_values", "levenshtein_distance"})
_RENAMED = {"codepoint": "unicode", "is_finite": "isfinite"}


def anonymous(node: exp.Anonymous) -> exp.Expression:
    name = node.name.lower()
    args = node.expressions
    if name == "format_datetime" and len(args) == 2:
        return exp.Anonymous(this="STRFTIME", expressions=[args[0], _literal_format(args[1], name, False)])
    if name == "json_array_length" and len(args) == 1:  # NULL, not 0, for what is not an array
        return duck("CASE WHEN JSON_TYPE(__0) = 'ARRAY' THEN JSON_ARRAY_LENGTH(__0) END", args[0])
    if name in _RENAMED:
        return exp.Anonymous(this=_RENAMED[name].upper(), expressions=args)
    if name in SAME_IN_DUCKDB:
        return node
    raise QueryError(f"the Trino function {name}() has no local translation (run it with --engine athena)")


def _literal_format(arg: exp.Expression, function: str, parsing: bool) -> exp.Literal:
    if not (isinstance(arg, exp.Literal) and arg.is_string):
        raise QueryError(f"{function}(): the pattern must be a string literal locally, got {arg.sql('athena')}")
    return exp.Literal.string(joda_to_strftime(arg.this, parsing))


def parse_datetime(node: exp.ParseDatetime) -> exp.Expression:
    return exp.Anonymous(this="STRPTIME", expressions=[node.this, _literal_format(node.args.get("format"),
                                                                                 "parse_datetime", True)])


def mysql_format(node: exp.Expression) -> exp.Expression:
    fmt = node.args.get("format")
    if isinstance(fmt, exp.Literal) and "%v" in fmt.this:
        node.set("format", exp.Literal.string(fmt.this.replace("%v", "%V")))
    return node


def json_scalar(node: exp.JSONExtractScalar) -> exp.Expression:
    """NULL for an object or an array (DuckDB's ->> gives their JSON text)."""
    return duck("CASE WHEN JSON_TYPE(__1, __2) IN ('OBJECT', 'ARRAY') THEN NULL ELSE __0 END",
                node, node.this, node.expression)


def regexp_replace(node: exp.RegexpReplace) -> exp.Expression:
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


def reduce(node: exp.Reduce) -> exp.Expression:
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


def date_diff(node: exp.DateDiff) -> exp.Expression:
    unit = node.args.get("unit")
    unit_text = (unit.name if unit is not None else "DAY").upper()
    return exp.Anonymous(this="DATE_SUB", expressions=[exp.Literal.string(unit_text), node.expression, node.this])


def unnest_rows(node: exp.Unnest) -> exp.Expression:
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


def typeof(node: exp.Expression) -> exp.Expression:
    raise QueryError("typeof(): DuckDB's type names are not Athena's; it has no local translation")


def substring(node: exp.Substring) -> exp.Expression:
    """Trino: NULL if any argument is; empty when start is 0, the length not positive, or start before the
    string; DuckDB counts start 0 as 1 and clamps."""
    start, length = node.args.get("start"), node.args.get("length")
    if start is None:
        return node
    if length is None:
        return duck("CASE WHEN __1 IS NULL OR __2 IS NULL THEN NULL WHEN __2 = 0 OR __2 < -LENGTH(__1) THEN '' "
                    "ELSE __0 END", node, node.this, start)
    return duck("CASE WHEN __1 IS NULL OR __2 IS NULL OR __3 IS NULL THEN NULL "
                "WHEN __2 = 0 OR __3 <= 0 OR __2 < -LENGTH(__1) THEN '' ELSE __0 END", node, node.this, start, length)


def split_part(node: exp.SplitPart) -> exp.Expression:
    delimiter, index = node.args.get("delimiter"), node.args.get("part_index")
    if delimiter is None or index is None:
        return node
    return duck("CASE WHEN __1 <= 0 THEN ERROR('split_part: Index must be greater than zero') "
                "WHEN __1 > LEN(STRING_SPLIT(__2, __3)) THEN NULL ELSE __0 END", node, index, node.this, delimiter)


def regexp_extract(node: exp.RegexpExtract) -> exp.Expression:
    """NULL without a match. A group that may not take part in a match (after |, ?, *) would be NULL in
    Trino and empty in DuckDB: refused; so is a group the pattern does not have."""
    group, pattern = node.args.get("group"), node.expression
    if group is not None:
        if not (isinstance(pattern, exp.Literal) and pattern.is_string and isinstance(group, exp.Literal)):
            raise QueryError("regexp_extract(): with a group, the pattern and the group must be literals locally")
        groups = len(re.findall(r"(?<!\\)\((?!\?)", pattern.this))
        if int(group.this) > groups:
            raise QueryError(f"regexp_extract(): pattern {pattern.this!r} has {groups} group(s), "
                             f"not {group.this}")
        if int(group.this) > 0 and re.search(r"\||\)[?*]|\)\{0", pattern.this):
            raise QueryError(f"regexp_extract(): group {group.this} of {pattern.this!r} may not take part in a "
                             "match (Trino gives NULL, the local engine an empty string); no local translation")
    return duck("CASE WHEN REGEXP_MATCHES(__1, __2) THEN __0 END", node, node.this, pattern)


def array_slice(node: exp.ArraySlice) -> exp.Expression:
    """Trino's slice(array, start, length); DuckDB's list_slice takes an end."""
    start, length = node.args.get("start"), node.args.get("end")
    if length is None:
        raise QueryError("slice(): needs a start and a length")
    first = "CASE WHEN __1 < 0 THEN LEN(__0) + __1 + 1 ELSE __1 END"
    return duck("CASE WHEN __1 = 0 THEN ERROR('slice: SQL array indices start at 1') "
                "WHEN __2 < 0 THEN ERROR('slice: length must be greater than or equal to 0') "
                f"WHEN {first} < 1 THEN [] ELSE LIST_SLICE(__0, {first}, {first} + __2 - 1) END",
                node.this, start, length)


def array_extreme(node: exp.Expression) -> exp.Expression:
    """array_max/array_min are NULL when the array holds a NULL."""
    return duck("CASE WHEN LIST_CONTAINS(LIST_TRANSFORM(__1, LAMBDA __lw_x: __lw_x IS NULL), TRUE) THEN NULL "
                "ELSE __0 END", node, node.this)


def array_distinct(node: exp.ArrayDistinct) -> exp.Expression:
    """First occurrences in order, one NULL kept (DuckDB's list_distinct drops NULLs and reorders)."""
    return duck("LIST_FILTER(__0, LAMBDA __lw_x, __lw_i: LIST_POSITION(__0, __lw_x) = __lw_i)", node.this)

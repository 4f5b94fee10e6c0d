"""What the Trino rewrites share: DuckDB expressions from SQL templates, and the inferred type of a node."""
from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

INTEGERS = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT}
FLOATS = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}
TEXT = {exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR, exp.DataType.Type.TEXT}
DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


def duck(template: str, *args: exp.Expression) -> exp.Expression:
    """A DuckDB expression from SQL text in which __0, __1, ... stand for the given expressions."""
    tree = sqlglot.parse_one(template, read="duckdb")
    for column in list(tree.find_all(exp.Column)):
        found = re.fullmatch(r"__(\d+)", column.name)
        if found and not column.table:
            column.replace(args[int(found.group(1))].copy())
    return tree


def kind(node: exp.Expression | None) -> exp.DataType.Type | None:
    kind = node.type.this if node is not None and node.type is not None else None
    return None if kind in (None, exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL) else kind

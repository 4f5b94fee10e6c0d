"""Who can read what: the Lake Formation decision for LF-tag policy grants, computed locally.

Per the Lake Formation documentation: a column's tags are its own, and for each key it lacks, its
table's, and for each key the table lacks, its database's (a key assigned at a lower level overrides the
inherited value). A grant on LF-tag policy resource type TABLE with SELECT (or ALL) lets its principal read
every column whose tags match the expression: for each key of the expression, the column has the key and
one of its values. Grants on named tables or columns add to that, and a grant to IAM_ALLOWED_PRINCIPALS
(what Glue gives every new table when the database keeps the default permissions) counts for everyone.
A table with no readable column is not visible to the principal.
"""
from __future__ import annotations

from dataclasses import dataclass

from lakeformation.lf import NamedGrant, TagPolicyGrant, Tags

READ = {"SELECT", "ALL"}
EVERYONE = "IAM_ALLOWED_PRINCIPALS"  # a grant to it lets any IAM principal with S3/Glue rights read


@dataclass(frozen=True)
class TableTags:
    database: str
    name: str
    database_tags: Tags
    table_tags: Tags
    columns: dict[str, Tags]  # column -> tags assigned on it


@dataclass(frozen=True)
class TableAccess:
    database: str
    name: str
    readable: tuple[str, ...]
    hidden: tuple[str, ...]

    @property
    def visible(self) -> bool:
        return bool(self.readable)


def effective(database_tags: Tags, table_tags: Tags, column_tags: Tags) -> Tags:
    return {**database_tags, **table_tags, **column_tags}


def matches(expression: tuple[tuple[str, tuple[str, ...]], ...], tags: Tags) -> bool:
    return all(key in tags and set(tags[key]) & set(values) for key, values in expression)


def table_access(principal: str, grants: list[TagPolicyGrant], table: TableTags,
                 named: list[NamedGrant] = ()) -> TableAccess:  # type: ignore[assignment]
    """What the principal reads of the table: columns whose tags a SELECT grant's expression matches, and
    columns a named grant covers (to the principal, or to IAM_ALLOWED_PRINCIPALS, which is everyone)."""
    mine = [g for g in grants if g.principal in (principal, EVERYONE) and g.resource_type == "TABLE"
            and g.permissions & READ]
    direct = [g for g in named if g.principal in (principal, EVERYONE) and g.permissions & READ]
    readable, hidden = [], []
    for column, assigned in table.columns.items():
        tags = effective(table.database_tags, table.table_tags, assigned)
        ok = any(matches(g.expression, tags) for g in mine) or any(
            g.covers(table.database, table.name, column) for g in direct)
        (readable if ok else hidden).append(column)
    return TableAccess(table.database, table.name, tuple(readable), tuple(hidden))

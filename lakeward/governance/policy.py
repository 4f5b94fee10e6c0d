"""Governance as code, applied: the Glue catalog's lakeward tables and their classified columns on one
side, Lake Formation on the other (lakeformation/ decides; this module gathers the state and calls it)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from catalog.glue import GlueCatalog
from catalog.schema import Column, TableDefinition
from lakeformation.access import TableAccess, TableTags, table_access
from lakeformation.classifier import Findings, column_parameters
from lakeformation.lf import LakeFormation, Resource
from lakeformation.plan import (
    ActualState,
    GovernedColumn,
    GovernedTable,
    Plan,
    apply,
    column_delta,
    column_tags,
    plan,
)
from lakeformation.spec import DEFAULT, GovernanceSpec
from lakeward.runtime.aws import AwsContext


def _governed(definition: TableDefinition) -> GovernedTable:
    return GovernedTable(definition.database, definition.name, tuple(
        GovernedColumn(c.name, dict(c.parameters)) for c in (*definition.columns, *definition.partition_keys)))


def record_classification(definition: TableDefinition, sampled: Findings, spec: GovernanceSpec | None,
                          columns: set[str] | None = None) -> TableDefinition:
    """The definition with the classification of ``columns`` (all when None) in their Glue Parameters,
    the spec's overrides applied."""
    spec = spec or DEFAULT

    def classified(c: Column) -> Column:
        if columns is not None and c.name not in columns:
            return c
        override = spec.override(definition.database, definition.name, c.name)
        doubt = next((d for d in sampled.doubts if d.column == c.name), None)
        return replace(c, parameters=column_parameters(c.name, sampled.found, c.parameters,
                                                       (override.pii, override.reason) if override else None,
                                                       c.name in sampled.seen, doubt))

    return replace(definition, columns=tuple(classified(c) for c in definition.columns),
                   partition_keys=tuple(classified(k) for k in definition.partition_keys))


def governed_tables(glue: GlueCatalog) -> list[GovernedTable]:
    return [_governed(t.definition) for t in glue.tables() if not t.foreign]


def actual_state(lf: LakeFormation, tables: list[GovernedTable]) -> ActualState:
    database_tags, column_tags_, table_tags = {}, {}, {}
    for table in tables:
        db_tags, on_table, columns = lf.table_tags(table.database, table.name, [c.name for c in table.columns])
        database_tags[table.database] = db_tags
        column_tags_[(table.database, table.name)] = columns
        table_tags[(table.database, table.name)] = on_table
    return ActualState(lf.tags(), database_tags, column_tags_, lf.tag_policy_grants(), table_tags)


def governance_plan(aws: AwsContext, spec: GovernanceSpec | None) -> Plan:
    lf = LakeFormation(aws.client("lakeformation"))
    tables = governed_tables(GlueCatalog(aws.client("glue")))
    return plan(spec or DEFAULT, tables, actual_state(lf, tables))


def governance_apply(aws: AwsContext, spec: GovernanceSpec | None, prune: bool = False) -> Plan:
    result = governance_plan(aws, spec)
    apply(result, LakeFormation(aws.client("lakeformation")), prune)
    return result


def protect_database(aws: AwsContext, spec: GovernanceSpec | None, database: str) -> None:
    """Before a table is created: the ontology's tags exist and the database carries the default tags, so
    the new table inherits them (sensitivity=confidential by default) until its columns are classified."""
    spec = spec or DEFAULT
    lf = LakeFormation(aws.client("lakeformation"))
    existing = lf.tags()
    for key, values in spec.ontology.items():
        if key not in existing:
            lf.create_tag(key, values)
        elif set(values) - set(existing[key]):
            lf.add_tag_values(key, [v for v in values if v not in existing[key]])
    # Created without Glue's default "ALL to IAM_ALLOWED_PRINCIPALS" on new tables, which would bypass the tags.
    GlueCatalog(aws.client("glue")).ensure_database(database, default_permissions=[])
    lf.assign(Resource(database), dict(spec.database_tags))


def tag_columns(aws: AwsContext, spec: GovernanceSpec | None, definition: TableDefinition) -> int:
    """After a commit: every classified column gets exactly its tags (keys it should not carry are removed,
    since Lake Formation merges assignments), columns with equal tags in one call. Returns the number of
    columns whose tags changed."""
    spec = spec or DEFAULT
    table = _governed(definition)
    lf = LakeFormation(aws.client("lakeformation"))
    _, _, assigned = lf.table_tags(table.database, table.name, [c.name for c in table.columns], with_database=False)
    groups: dict[tuple, list[str]] = defaultdict(list)
    changed = set()
    for column in table.columns:
        want = column_tags(spec, table, column)
        if not want:
            continue
        assign, extra = column_delta(want, assigned.get(column.name, {}))
        if extra:
            lf.unassign(Resource(table.database, table.name, (column.name,)), extra)
            changed.add(column.name)
        if assign:
            groups[tuple(sorted(want.items()))].append(column.name)
            changed.add(column.name)
    for tags, columns in groups.items():
        lf.assign(Resource(definition.database, definition.name, tuple(columns)), dict(tags))
    return len(changed)


def table_access_for(lf: LakeFormation, principal: str, grants: tuple[list, list], database: str, name: str,
                     columns: list[str]) -> TableAccess:
    """The principal's access to one table, from its tags and the grants (tag policy, named) read once."""
    db_tags, table_tags, assigned = lf.table_tags(database, name, columns)
    tags = TableTags(database, name, db_tags, table_tags, {c: assigned.get(c, {}) for c in columns})
    return table_access(principal, grants[0], tags, grants[1])


def access(aws: AwsContext, principal: str) -> list[TableAccess]:
    """What the principal can read among lakeward's tables, from Lake Formation's grants and tags."""
    lf = LakeFormation(aws.client("lakeformation"))
    grants = lf.grants()
    return [table_access_for(lf, principal, grants, t.database, t.name, [c.name for c in t.columns])
            for t in governed_tables(GlueCatalog(aws.client("glue")))]

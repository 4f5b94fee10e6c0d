"""What ``lakeward govern apply`` would change, computed without changing anything: the desired Lake
Formation state (from the governance spec and the PII recorded in the Glue catalog) against the actual
one. Pure: the state comes in as plain values, the plan goes out as plain values.

Desired state:
- every ontology key exists with at least its values;
- every database holding lakeward tables carries ``database_tags`` (a new table inherits them, so it is
  never exposed before its columns are classified);
- every classified column carries its tags: its entity's rule (after the spec's overrides), or ``not_pii``;
  columns not classified yet carry none and inherit the database's;
- every grant of the spec exists as an LF-tag policy grant.
Drift (present in Lake Formation, absent from the spec) is reported, and removed only with ``prune``:
grants, column tags on governed tables, tag values and tag keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lakeformation.classifier import CLASSIFIED_PARAMETER, DOUBT_PARAMETER, PII_PARAMETER
from lakeformation.lf import LakeFormation, Resource, TagPolicyGrant, Tags
from lakeformation.spec import GovernanceSpec


@dataclass(frozen=True)
class GovernedColumn:
    name: str
    parameters: dict[str, str]

    @property
    def classified(self) -> bool:
        return self.parameters.get(CLASSIFIED_PARAMETER) is not None or PII_PARAMETER in self.parameters

    @property
    def doubt(self) -> str | None:
        """Why the column may hold PII though too few values proved it (it stays closed until reviewed)."""
        return self.parameters.get(DOUBT_PARAMETER)

    @property
    def entity(self) -> str | None:
        value = self.parameters.get(PII_PARAMETER)
        return value.split(",")[0] if value else None


@dataclass(frozen=True)
class GovernedTable:
    database: str
    name: str
    columns: tuple[GovernedColumn, ...]


@dataclass
class ActualState:
    tags: Tags
    database_tags: dict[str, Tags]  # database -> tags assigned on it
    column_tags: dict[tuple[str, str], dict[str, Tags]]  # (database, table) -> column -> tags assigned on it
    grants: list[TagPolicyGrant]
    table_tags: dict[tuple[str, str], Tags] = field(default_factory=dict)  # tags assigned on the table itself


@dataclass
class Plan:
    create_tags: dict[str, list[str]] = field(default_factory=dict)
    add_tag_values: dict[str, list[str]] = field(default_factory=dict)
    assignments: list[tuple[Resource, dict[str, str]]] = field(default_factory=list)
    removals: list[tuple[Resource, Tags]] = field(default_factory=list)  # keys a classified column must lose
    grants: list[TagPolicyGrant] = field(default_factory=list)
    # drift
    revokes: list[TagPolicyGrant] = field(default_factory=list)
    unassignments: list[tuple[Resource, Tags]] = field(default_factory=list)
    extra_tag_values: dict[str, list[str]] = field(default_factory=dict)
    extra_tags: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)  # doubtful columns, closed until an override settles them

    @property
    def changes(self) -> int:
        return (len(self.create_tags) + len(self.add_tag_values) + len(self.assignments) + len(self.removals)
                + len(self.grants))

    @property
    def drift(self) -> int:
        return len(self.revokes) + len(self.unassignments) + len(self.extra_tag_values) + len(self.extra_tags)

    def lines(self) -> list[str]:
        out = [f"+ create LF-tag {k} = {', '.join(v)}" for k, v in self.create_tags.items()]
        out += [f"+ add values to LF-tag {k}: {', '.join(v)}" for k, v in self.add_tag_values.items()]
        out += [f"+ tag {r}: {', '.join(f'{k}={v}' for k, v in sorted(t.items()))}" for r, t in self.assignments]
        out += [f"+ untag {r}: {', '.join(f'{k}={v}' for k, vs in sorted(t.items()) for v in vs)}"
                for r, t in self.removals]
        out += [f"+ grant {g.describe()}" for g in self.grants]
        out += [f"- drift: revoke {g.describe()}" for g in self.revokes]
        out += [f"- drift: untag {r}: {', '.join(f'{k}={v}' for k, vs in sorted(t.items()) for v in vs)}"
                for r, t in self.unassignments]
        out += [f"- drift: LF-tag {k} values not in the ontology: {', '.join(v)}" for k, v in self.extra_tag_values.items()]
        out += [f"- drift: LF-tag {k} is not in the ontology" for k in self.extra_tags]
        out += [f"? review {line}" for line in self.review]
        return out


def column_tags(spec: GovernanceSpec, table: GovernedTable, column: GovernedColumn) -> dict[str, str] | None:
    """The tags a column should carry, or None while it is not classified (it inherits the database's)."""
    override = spec.override(table.database, table.name, column.name)
    if override is not None:
        return spec.column_tags(None if override.pii == "none" else override.pii)
    if not column.classified:
        return None
    if column.doubt and not column.entity:
        return dict(spec.database_tags)  # closed, explicitly, like an unclassified column
    return spec.column_tags(column.entity)


def _merged(grants: list[TagPolicyGrant]) -> dict[tuple, TagPolicyGrant]:
    """Grants by (principal, resource type, expression), permissions of equal keys united."""
    merged: dict[tuple, TagPolicyGrant] = {}
    for g in grants:
        merged[g.key] = TagPolicyGrant(*g.key, g.permissions | (merged[g.key].permissions if g.key in merged
                                                                 else frozenset()))
    return merged


def column_delta(want: dict[str, str] | None, assigned: Tags) -> tuple[bool, Tags]:
    """Whether a column needs ``want`` assigned, and the keys assigned on it that ``want`` does not name."""
    assign = bool(want) and any(assigned.get(k) != [v] for k, v in want.items())  # type: ignore[union-attr]
    return assign, {k: v for k, v in assigned.items() if not want or k not in want}


def desired_grants(spec: GovernanceSpec) -> list[TagPolicyGrant]:
    return list(_merged([TagPolicyGrant.of(g.principal, g.resource, g.tags, g.permissions)
                         for g in spec.grants]).values())


def plan(spec: GovernanceSpec, tables: list[GovernedTable], actual: ActualState) -> Plan:
    result = Plan()
    for key, values in spec.ontology.items():
        if key not in actual.tags:
            result.create_tags[key] = list(values)
        else:
            missing = [v for v in values if v not in actual.tags[key]]
            if missing:
                result.add_tag_values[key] = missing
            extra = [v for v in actual.tags[key] if v not in values]
            if extra:
                result.extra_tag_values[key] = extra
    result.extra_tags = [k for k in actual.tags if k not in spec.ontology]

    for database in sorted({t.database for t in tables}):
        have = actual.database_tags.get(database, {})
        if spec.database_tags and any(have.get(k) != [v] for k, v in spec.database_tags.items()):
            result.assignments.append((Resource(database), dict(spec.database_tags)))

    for table in tables:
        on_table = actual.table_tags.get((table.database, table.name), {})
        if on_table:  # a table-level tag overrides the database's safe default for unclassified columns
            result.unassignments.append((Resource(table.database, table.name), on_table))
        have = actual.column_tags.get((table.database, table.name), {})
        for column in table.columns:
            want = column_tags(spec, table, column)
            if column.doubt and not column.entity and spec.override(table.database, table.name, column.name) is None:
                result.review.append(f"{table.database}.{table.name}.{column.name}: {column.doubt}; it keeps the "
                                     f"database's tags until an override in the spec says what it holds")
            assign, extra = column_delta(want, have.get(column.name, {}))
            if assign:
                result.assignments.append((Resource(table.database, table.name, (column.name,)), want))
            if extra and want:  # a classified column keeps no key its tags do not name (it could match a grant)
                result.removals.append((Resource(table.database, table.name, (column.name,)), extra))
            elif extra:
                result.unassignments.append((Resource(table.database, table.name, (column.name,)), extra))

    wanted = _merged(desired_grants(spec))
    present = _merged(actual.grants)
    for key, grant in wanted.items():
        missing = grant.permissions - (present[key].permissions if key in present else frozenset())
        if missing:
            result.grants.append(TagPolicyGrant(*key, missing))
    for key, grant in present.items():
        extra = grant.permissions - (wanted[key].permissions if key in wanted else frozenset())
        if extra:
            result.revokes.append(TagPolicyGrant(*key, extra))
    return result


def apply(result: Plan, lf: LakeFormation, prune: bool = False) -> None:
    """Carry out a plan: tags first (grants and assignments need them), then assignments, then grants;
    with ``prune``, the drift is removed afterwards (revokes before the tags they use)."""
    for key, values in result.create_tags.items():
        lf.create_tag(key, values)
    for key, values in result.add_tag_values.items():
        lf.add_tag_values(key, values)
    for resource, tags in result.assignments:
        lf.assign(resource, tags)
    for resource, tags in result.removals:
        lf.unassign(resource, tags)
    for grant in result.grants:
        lf.grant(grant)
    if not prune:
        return
    for grant in result.revokes:
        lf.revoke(grant)
    for resource, tags in result.unassignments:
        lf.unassign(resource, tags)
    for key, values in result.extra_tag_values.items():
        lf.remove_tag_values(key, values)
    for key in result.extra_tags:
        lf.delete_tag(key)

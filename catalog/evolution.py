"""Reconcile a batch's schema with the table's schema under the table's evolution mode.

- ``evolve`` (default): new columns and nested fields are added, types widen along the lattice in
  catalog.types.widen as far as the table's format allows, and a type never narrows.
- ``freeze``: the table is a read-only contract; nothing in the catalog changes. Columns the table does
  not have are ``unknown``; the caller quarantines rows that carry values for them.
- ``rescue``: like freeze, but the table has a ``_rescued_data`` string column (added once) where the
  caller puts unknown fields and values that cannot be cast, as JSON, instead of quarantining the row.
In every mode a batch column whose type cannot become the table's (a string in a bigint column) is a
conflict: its values are cast to the table type, and values that do not survive the cast follow the
mode (quarantine, or rescue).

A widening older files cannot follow (bigint to double in Parquet, any type change in Delta) is a
``Rewrite`` in evolve mode: the table takes the wider type and the caller rewrites the files that hold
the narrower one, or, for a partitioned Parquet table whose older partitions Athena can cast
(catalog.types.partition_coercible), only the partitions the batch writes to. ``widen: quarantine``
turns such a widening back into a conflict.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Literal

from catalog.names import RAW_NAMES_PARAMETER, recorded_raw_names
from catalog.schema import Column, TableDefinition
from catalog.types import (
    STRING,
    Array,
    DataType,
    Map,
    Promotion,
    Struct,
    partition_coercible,
    to_hive,
    widen,
)

ChangeKind = Literal["add_column", "widen_type", "add_nested_fields"]
EvolutionMode = Literal["evolve", "freeze", "rescue"]
EVOLUTION_MODES: tuple[EvolutionMode, ...] = ("evolve", "freeze", "rescue")
WidenPolicy = Literal["auto", "rewrite", "quarantine"]
WIDEN_POLICIES: tuple[WidenPolicy, ...] = ("auto", "rewrite", "quarantine")
RESCUED_COLUMN = "_rescued_data"


@dataclass(frozen=True)
class SchemaChange:
    kind: ChangeKind
    column: str
    old_type: str | None
    new_type: str

    def describe(self) -> str:
        if self.kind == "add_column":
            return f"added column {self.column} {self.new_type}"
        if self.kind == "add_nested_fields":
            return f"added nested fields to {self.column}: {self.old_type} -> {self.new_type}"
        return f"widened {self.column} {self.old_type} -> {self.new_type}"


@dataclass(frozen=True)
class TypeConflict:
    """A batch column whose type cannot become the table's without narrowing the table."""

    column: str
    table_type: str
    batch_type: str


@dataclass(frozen=True)
class Rewrite:
    """A widening the table's older files cannot follow: the files holding the narrower type are rewritten."""

    column: str
    old_type: str
    new_type: str
    per_partition: bool  # older partitions may keep declaring the old type (Athena casts them)


@dataclass
class EvolutionPlan:
    columns: tuple[Column, ...]
    changes: list[SchemaChange] = field(default_factory=list)
    conflicts: list[TypeConflict] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # batch columns a frozen or rescuing table lacks
    rewrites: list[Rewrite] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def plan_evolution(table_columns: tuple[Column, ...] | None, batch_columns: list[Column],
                   promote: Promotion = "parquet", mode: EvolutionMode = "evolve",
                   widening: WidenPolicy = "auto") -> EvolutionPlan:
    """promote is the widening the table's files allow as they are (see catalog.types.widen); a wider one
    is a Rewrite unless ``widening`` is quarantine. A table that does not exist yet is created from the
    batch (plus the rescue column in rescue mode); freeze needs a table."""
    if table_columns is None:
        columns = list(batch_columns)
        if mode == "rescue":
            columns.append(Column(RESCUED_COLUMN, STRING))
        return EvolutionPlan(tuple(columns),
                             [SchemaChange("add_column", c.name, None, to_hive(c.type)) for c in columns])
    if mode != "evolve":
        return _plan_fixed(table_columns, batch_columns, mode)
    columns = list(table_columns)
    index = {c.name: i for i, c in enumerate(columns)}
    plan = EvolutionPlan(())
    for incoming in batch_columns:
        position = index.get(incoming.name)
        if position is None:
            index[incoming.name] = len(columns)
            columns.append(incoming)
            plan.changes.append(SchemaChange("add_column", incoming.name, None, to_hive(incoming.type)))
            continue
        current = columns[position]
        merged = widen(current.type, incoming.type, promote)
        rewritten = widen(current.type, incoming.type, "all") if merged is None and widening != "quarantine" else None
        if rewritten is not None and rewritten != current.type:  # (a narrower batch type is cast, not a rewrite)
            merged = rewritten
            plan.rewrites.append(Rewrite(current.name, to_hive(current.type), to_hive(merged),
                                         promote == "parquet" and partition_coercible(current.type, merged)))
        if merged is None:
            plan.conflicts.append(TypeConflict(incoming.name, to_hive(current.type), to_hive(incoming.type)))
        elif merged != current.type:
            columns[position] = Column(current.name, merged, current.comment, current.parameters)
            kind: ChangeKind = "add_nested_fields" if _same_leaves(current.type, merged) else "widen_type"
            plan.changes.append(SchemaChange(kind, current.name, to_hive(current.type), to_hive(merged)))
    plan.columns = tuple(columns)
    return plan


def _plan_fixed(table_columns: tuple[Column, ...], batch_columns: list[Column], mode: EvolutionMode) -> EvolutionPlan:
    columns = {c.name: c for c in table_columns}
    plan = EvolutionPlan(table_columns)
    if mode == "rescue" and RESCUED_COLUMN not in columns:
        plan.columns = (*table_columns, Column(RESCUED_COLUMN, STRING))
        plan.changes.append(SchemaChange("add_column", RESCUED_COLUMN, None, "string"))
    for incoming in batch_columns:
        current = columns.get(incoming.name)
        if current is None:
            plan.unknown.append(incoming.name)
        elif widen(current.type, incoming.type, "all") != current.type:
            plan.conflicts.append(TypeConflict(incoming.name, to_hive(current.type), to_hive(incoming.type)))
    return plan


def _same_leaves(old: DataType, new: DataType) -> bool:
    """True when new only adds struct fields to old (no leaf type changed)."""
    if isinstance(old, Struct) and isinstance(new, Struct):
        return all(_same_leaves(f.type, new.field(f.name).type) for f in old.fields)  # type: ignore[union-attr]
    if isinstance(old, Array) and isinstance(new, Array):
        return _same_leaves(old.element, new.element)
    if isinstance(old, Map) and isinstance(new, Map):
        return _same_leaves(old.key, new.key) and _same_leaves(old.value, new.value)
    return old == new


def merge_concurrent(theirs: TableDefinition, ours: TableDefinition) -> TableDefinition:
    """Our intended table re-applied on top of a version another writer stored meanwhile: their columns
    and parameters stay, ours are added or widened, raw-name records are united. Nothing of theirs is lost."""
    mine = {c.name: c for c in ours.columns}
    columns = []
    for column in theirs.columns:
        own = mine.pop(column.name, None)
        if own is None:
            columns.append(column)
            continue
        merged_type = widen(column.type, own.type, "all") or own.type
        raw = list(dict.fromkeys(recorded_raw_names(column.parameters) + recorded_raw_names(own.parameters)))
        parameters = {**column.parameters, **own.parameters}
        if raw:
            parameters[RAW_NAMES_PARAMETER] = json.dumps(raw, ensure_ascii=False)
        columns.append(Column(column.name, merged_type, own.comment or column.comment, parameters))
    columns.extend(c for c in ours.columns if c.name in mine)
    return replace(ours, columns=tuple(columns), parameters={**theirs.parameters, **ours.parameters})

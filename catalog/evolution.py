"""Reconcile a batch's schema with the table's schema.

The mode implemented here is ``evolve``: new columns and nested fields are added, types widen along the
lattice in catalog.types.widen as far as the table's format allows, and a type never narrows. A batch column whose type cannot be widened
into the table's type (a string arriving in a bigint column) does not change the table: its values are
cast to the table type and the rows whose values do not survive the cast are quarantined by the caller.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from catalog.schema import Column
from catalog.types import Array, DataType, Map, Promotion, Struct, to_hive, widen

ChangeKind = Literal["add_column", "widen_type", "add_nested_fields"]


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


@dataclass
class EvolutionPlan:
    columns: tuple[Column, ...]
    changes: list[SchemaChange] = field(default_factory=list)
    conflicts: list[TypeConflict] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def plan_evolution(table_columns: tuple[Column, ...] | None, batch_columns: list[Column],
                   promote: Promotion = "parquet") -> EvolutionPlan:
    """promote is the widening the table's format allows (see catalog.types.widen)."""
    if table_columns is None:
        return EvolutionPlan(tuple(batch_columns),
                             [SchemaChange("add_column", c.name, None, to_hive(c.type)) for c in batch_columns])
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
        if merged is None:
            plan.conflicts.append(TypeConflict(incoming.name, to_hive(current.type), to_hive(incoming.type)))
        elif merged != current.type:
            columns[position] = Column(current.name, merged, current.comment, current.parameters)
            kind: ChangeKind = "add_nested_fields" if _same_leaves(current.type, merged) else "widen_type"
            plan.changes.append(SchemaChange(kind, current.name, to_hive(current.type), to_hive(merged)))
    plan.columns = tuple(columns)
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

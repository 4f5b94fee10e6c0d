"""Table versions and what changed between them (pure functions over catalog definitions)."""
from __future__ import annotations

from catalog.schema import Column
from catalog.types import to_hive


def column_diff(old: tuple[Column, ...], new: tuple[Column, ...]) -> list[str]:
    """Human-readable differences between two column lists, in the new list's order."""
    before = {c.name: c for c in old}
    after = {c.name: c for c in new}
    changes = []
    for column in new:
        previous = before.get(column.name)
        if previous is None:
            changes.append(f"+ {column.name} {to_hive(column.type)}")
        elif previous.type != column.type:
            changes.append(f"~ {column.name} {to_hive(previous.type)} -> {to_hive(column.type)}")
    changes.extend(f"- {c.name} {to_hive(c.type)}" for c in old if c.name not in after)
    return changes

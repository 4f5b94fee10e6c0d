"""Partition specs: ``col`` (the column's own values) or ``name=transform(col)``. Engine-free.

Transforms: date, year, month, day, hour. Example: ``--partition-by dt=date(event_time),country``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from catalog import types as C
from catalog.names import normalize_identifier
from lakeward.errors import SpecError

Transform = Literal["identity", "date", "year", "month", "day", "hour"]
_TRANSFORMS = {"date": C.DATE, "year": C.INT, "month": C.INT, "day": C.INT, "hour": C.INT}
_DERIVED = re.compile(r"^\s*([^=\s]+)\s*=\s*(\w+)\s*\(\s*([^)]+?)\s*\)\s*$")
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True)
class PartitionField:
    name: str
    source: str
    transform: Transform = "identity"

    def __str__(self) -> str:
        return self.name if self.transform == "identity" else f"{self.name}={self.transform}({self.source})"

    def result_type(self, source_type: C.DataType) -> C.DataType:
        if self.transform == "identity":
            if not isinstance(source_type, C.Primitive) or source_type.name in ("binary", "float", "double"):
                raise SpecError(f"cannot partition by {self.source}: its type {C.to_hive(source_type)} is not "
                                "a string, integer, boolean, date or timestamp column")
            return source_type
        return _TRANSFORMS[self.transform]


def parse_partition_spec(text: str | None, setting: str = "partition_by") -> list[PartitionField]:
    """Parse ``a,b=date(c)``. Names are normalised like every column name; errors name ``setting``."""
    if not text or not text.strip():
        return []
    fields: list[PartitionField] = []
    for part in (p for p in text.split(",") if p.strip()):
        match = _DERIVED.match(part)
        if match:
            name, transform, source = match.groups()
            if transform.lower() not in _TRANSFORMS:
                raise SpecError(f"{setting} {part.strip()!r}: unknown transform {transform!r}; "
                                f"use one of {', '.join(_TRANSFORMS)}")
            fields.append(PartitionField(normalize_identifier(name), normalize_identifier(source),
                                         transform.lower()))  # type: ignore[arg-type]
        elif "=" in part or "(" in part:
            raise SpecError(f"{setting} {part.strip()!r}: expected COL or NAME=TRANSFORM(COL)")
        else:
            name = normalize_identifier(part.strip())
            fields.append(PartitionField(name, name))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise SpecError(f"{setting} {text!r} names a partition column twice")
    return fields


def spec_text(fields: list[PartitionField]) -> str:
    return ",".join(str(f) for f in fields)

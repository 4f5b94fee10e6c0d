"""What the catalog knows about a table, independent of any engine or API."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from catalog.types import DataType

TableFormat = Literal["parquet", "delta"]
TABLE_FORMATS: tuple[TableFormat, ...] = ("parquet", "delta")


@dataclass(frozen=True)
class Column:
    name: str
    type: DataType
    comment: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TableDefinition:
    """A table as lakeward registers it: the input of the pure TableInput builders."""

    database: str
    name: str
    format: TableFormat
    location: str
    columns: tuple[Column, ...]
    partition_keys: tuple[Column, ...] = ()
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"

    def column(self, name: str) -> Column | None:
        return next((c for c in (*self.columns, *self.partition_keys) if c.name == name), None)


@dataclass(frozen=True)
class CatalogTable:
    """A table read back from the catalog, with the version needed for an optimistic update."""

    definition: TableDefinition
    version_id: str | None
    foreign: str | None = None  # what the table is when lakeward did not create it (it then refuses to write)


@dataclass(frozen=True)
class Partition:
    values: tuple[str, ...]
    location: str
    columns: tuple[Column, ...] | None = None  # as registered; None: the table's

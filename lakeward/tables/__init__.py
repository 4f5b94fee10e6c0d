"""Table formats: how a batch's staged files become part of a Parquet or Delta table."""
from __future__ import annotations

from dataclasses import dataclass

from lakeward.runtime.storage import Storage, join


@dataclass(frozen=True)
class DataFile:
    """A Parquet file a batch's tasks wrote, relative to its staging folder and, once published, to the
    table root."""

    relative: str
    partition_values: dict[str, str | None]
    size: int
    rows: int | None = None
    stats: str | None = None  # Delta statistics (JSON), when the writer knew them


def publish(storage: Storage, staging_uri: str, table_uri: str, files: list[DataFile]) -> None:
    """Move staged files into the table's own folders (a rename locally)."""
    pairs = [(join(staging_uri, f.relative), join(table_uri, f.relative)) for f in files]
    storage.move_many(pairs)

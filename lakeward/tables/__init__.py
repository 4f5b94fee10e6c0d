"""Table formats: how a batch's staged files become part of a Parquet or Delta table."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from lakeward.partitioning import HIVE_NULL
from lakeward.storage import Storage, join


@dataclass(frozen=True)
class DataFile:
    """A Parquet file written by Spark for one batch, relative to the table root once published."""

    relative: str
    partition_values: dict[str, str | None]
    size: int
    rows: int | None = None
    stats: str | None = None  # Delta statistics (JSON), when the writer knew them


def staged_files(storage: Storage, staging_uri: str, partition_names: list[str]) -> list[DataFile]:
    """The Parquet files Spark wrote under staging_uri, with Hive partition values from their folders."""
    files = []
    prefix = staging_uri.rstrip("/") + "/"
    for entry in storage.list_files(staging_uri):
        if not entry.uri.endswith(".parquet"):
            continue
        relative = entry.uri[len(prefix):]
        values: dict[str, str | None] = {}
        for part in relative.split("/")[:-1]:
            key, _, value = part.partition("=")
            decoded = unquote(value)  # Hive escapes special characters in folder names as %XX
            values[unquote(key)] = None if decoded == HIVE_NULL else decoded
        if list(values) != partition_names:
            continue
        files.append(DataFile(relative, values, entry.size))
    return files


def publish(storage: Storage, staging_uri: str, table_uri: str, files: list[DataFile]) -> None:
    """Move staged files into the table's own folders (a rename locally)."""
    pairs = [(join(staging_uri, f.relative), join(table_uri, f.relative)) for f in files]
    storage.move_many(pairs)

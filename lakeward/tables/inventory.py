"""What files a table holds now, per partition: a Delta table's from its log, a Parquet table's by
listing each location Glue points at (the table's, or each partition's)."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from catalog.schema import TableDefinition
from lakeward.query import table_partitions
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.storage import Storage, join
from lakeward.tables import delta


@dataclass
class PartFiles:
    values: dict[str, str | None]
    files: list[tuple[str, int]]  # (uri, size)
    log_paths: list[str] = field(default_factory=list)  # Delta: the paths as the log has them

    def label(self) -> str:
        return "/".join(f"{k}={v}" for k, v in self.values.items()) or "(whole table)"

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.files)


def table_inventory(aws: AwsContext, storage: Storage, table: TableDefinition) -> list[PartFiles]:
    if table.format == "delta":
        snapshot = delta.open_table(table.location, aws.storage_options())
        parts: dict[tuple, PartFiles] = {}
        for f in delta.live_files(snapshot) if snapshot else []:
            key = tuple(f["partition_values"].get(k.name) for k in table.partition_keys)
            part = parts.setdefault(key, PartFiles(dict(zip([k.name for k in table.partition_keys], key)), []))
            part.files.append((join(table.location, unquote(f["path"])), f["size"]))
            part.log_paths.append(f["path"])
        return list(parts.values())
    # one listing per location Glue points at (projected tables: the folders under the table's)
    locations = [({}, table.location)] if not table.partition_keys else table_partitions(aws, table)
    result = []
    for values, where in locations:
        if isinstance(where, str):
            files = [(e.uri, e.size) for e in storage.list_files(where) if e.uri.endswith(".parquet")]
        else:
            files = [(uri, storage.info(uri).size) for uri in where]
        result.append(PartFiles(values, files))
    return result

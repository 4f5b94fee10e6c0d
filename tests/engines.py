"""Read what lakeward wrote with engines that are not lakeward: DuckDB and pyarrow.dataset on the Parquet
files at the locations the Glue Data Catalog registers (as Athena would find them), and deltalake's own
reader for Delta tables. Rows come back as sorted lists of dicts, for comparison with the source rows."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
from deltalake import DeltaTable

from tests.lakes import LakeDir


def _local(uri: str) -> str:
    return uri[len("file://"):] if uri.startswith("file://") else uri


def registered_locations(glue: Any, database: str, table: str) -> list[tuple[dict[str, str], str]]:
    """(partition values, location) as Athena would read them: each partition, or the table's location."""
    t = glue.get_table(DatabaseName=database, Name=table)["Table"]
    keys = [k["Name"] for k in t.get("PartitionKeys", [])]
    if not keys:
        return [({}, _local(t["StorageDescriptor"]["Location"]))]
    parts = glue.get_partitions(DatabaseName=database, TableName=table)["Partitions"]
    return [(dict(zip(keys, p["Values"])), _local(p["StorageDescriptor"]["Location"])) for p in parts]


def _data_files(location: str) -> list[LakeDir]:
    """The files a Hive reader lists under a location (local or S3): recursive, hidden names skipped."""
    root = LakeDir(location)
    return [f for f in root.rglob("*.parquet")
            if not any(part.startswith(("_", ".")) for part in f.relative_to(root).split("/"))]


def _plain(value: Any) -> Any:
    """Dates as ISO text: a partition value is text in Glue and a date in the files or the log."""
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _sorted(rows: list[dict], key: str) -> list[dict]:
    rows = [{k: _plain(v) for k, v in r.items()} for r in rows]
    return sorted(rows, key=lambda r: (r[key] is None, r[key]))


def duckdb_rows(glue: Any, database: str, table: str, columns: list[str], key: str) -> list[dict]:
    rows: list[dict] = []
    con = duckdb.connect()
    for values, location in registered_locations(glue, database, table):
        files = _data_files(location)
        if not files:
            continue
        present = [c for c in columns if c not in values]
        local = [f.local_copy() for f in files]
        found = con.execute(f"SELECT {', '.join(present)} FROM read_parquet(?, union_by_name=true)", [local])
        names = [d[0] for d in found.description]
        rows += [{**dict(zip(names, r)), **values} for r in found.fetchall()]
    return _sorted([{c: r.get(c) for c in columns} for r in rows], key)


def pyarrow_rows(glue: Any, database: str, table: str, columns: list[str], key: str) -> list[dict]:
    """pyarrow.dataset with Hive partitioning over each registered location."""
    rows: list[dict] = []
    for values, location in registered_locations(glue, database, table):
        files = _data_files(location)
        if not files:
            continue
        dataset = ds.dataset([f.path for f in files], filesystem=files[0].fs, format="parquet", partitioning="hive")
        present = [c for c in columns if c not in values and c in dataset.schema.names]
        for r in dataset.to_table(columns=present).to_pylist():
            rows.append({**{c: r.get(c) for c in columns}, **values})
    return _sorted(rows, key)


def delta_rows(location: Path | LakeDir, columns: list[str], key: str) -> list[dict]:
    location = LakeDir(location)
    table = DeltaTable(str(location), storage_options=location.storage_options())
    table = table.to_pyarrow_table(columns=columns).to_pylist()
    return _sorted(table, key)
